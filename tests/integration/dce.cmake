# dce.cmake - interop: tshark dissects the DCE/RPC PDUs lib/dce encodes
# (dce_pcap writes them into a pcap; dce_tshark.sh judges tshark's view).
# Needs Debian's tshark; without it the test fails.
add_executable(dce_pcap ${CMAKE_CURRENT_LIST_DIR}/dce_pcap.c)
target_link_libraries(dce_pcap PRIVATE tether_static)
find_program(TETHER_TSHARK tshark)
if(NOT TETHER_TSHARK)
	set(TETHER_TSHARK tshark)
endif()
tether_test(interop.dce_tshark LABEL interop
	COMMAND sh ${CMAKE_CURRENT_LIST_DIR}/dce_tshark.sh
		$<TARGET_FILE:dce_pcap> ${TETHER_TSHARK}
		${CMAKE_CURRENT_BINARY_DIR}/dce_tshark.pcap)
