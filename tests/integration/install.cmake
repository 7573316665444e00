# install: `cmake --install` into a scratch prefix, then build and run a
# program against it with `pkg-config --cflags --libs tether` (shared and
# static), and check the headers, the pc file and the man pages are there.
set(tether_consumer_flags "")
if(TETHER_SANITIZE OR TETHER_FUZZ)
	set(tether_consumer_flags "-fsanitize=address,undefined")
endif()
tether_test(integration.install LABEL integration TIMEOUT 300
	COMMAND ${CMAKE_CURRENT_SOURCE_DIR}/install-consumer.sh
		${PROJECT_BINARY_DIR} ${CMAKE_C_COMPILER} "${tether_consumer_flags}")
