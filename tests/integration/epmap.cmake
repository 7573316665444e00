# epmap.cmake - tether-epmap: in-process unit tests of its core, the
# replay of the reference captures' client side, and interop with
# impacket (Debian's python3-impacket, run with /usr/bin/python3; the
# rpcdump case needs root for `ip netns`). A missing peer fails.
set(TETHER_EPMAP_PY ${CMAKE_CURRENT_LIST_DIR}/epmap_impacket.py)
foreach(mode lookup map rpcdump)
	tether_test(interop.epmap_impacket_${mode} LABEL interop TIMEOUT 180
		COMMAND /usr/bin/python3 ${TETHER_EPMAP_PY} ${mode}
			$<TARGET_FILE:tether-epmap>
			$<TARGET_FILE:tether-epmap-sample>)
endforeach()
# The namespace case binds port 135 in its own namespace only, but two
# runs at once would race for nothing else: keep the three serial.
set_tests_properties(interop.epmap_impacket_lookup
	interop.epmap_impacket_map interop.epmap_impacket_rpcdump
	PROPERTIES RESOURCE_LOCK tether_epmap_impacket)

# The client side of the reference captures replayed against the daemon.
add_executable(epmap_replay ${CMAKE_CURRENT_LIST_DIR}/epmap_replay.c)
target_link_libraries(epmap_replay PRIVATE tether_static)
tether_test(integration.epmap_replay LABEL integration TIMEOUT 120
	COMMAND /usr/bin/python3 ${TETHER_EPMAP_PY} replay
		$<TARGET_FILE:tether-epmap> $<TARGET_FILE:tether-epmap-sample>
		$<TARGET_FILE:epmap_replay>)

# Started without -d: the command's status and stderr, for a start that
# serves and ones that fail, and descriptors 0-2 closed.
tether_test(integration.epmap_detach LABEL integration TIMEOUT 120
	COMMAND /usr/bin/python3 ${CMAKE_CURRENT_LIST_DIR}/epmap_detach.py
		$<TARGET_FILE:tether-epmap>)

# The daemon's core in one process (cmocka; under valgrind too).
add_executable(test_epmap ${PROJECT_SOURCE_DIR}/tests/unit/epmap/test_epmap.c)
target_link_libraries(test_epmap PRIVATE epmap_core PkgConfig::CMOCKA)
target_include_directories(test_epmap PRIVATE ${PROJECT_SOURCE_DIR}/tests/unit)
tether_test(unit.epmap LABEL unit COMMAND test_epmap)
if(TETHER_VALGRIND AND NOT TETHER_SANITIZE AND NOT TETHER_FUZZ)
	tether_test(valgrind.epmap LABEL valgrind TIMEOUT 600
		COMMAND ${TETHER_VALGRIND} --quiet --error-exitcode=99
			--leak-check=full --show-leak-kinds=definite,indirect
			--errors-for-leak-kinds=definite,indirect
			$<TARGET_FILE:test_epmap>)
endif()
