# rpcmsg.cmake - interop tests of the RPC message layer: differential
# parsing against libtirpc (linked into this test only), and tshark
# dissecting a pcap of every message form we produce. A missing peer
# fails the configure or the test; it is never skipped.
pkg_check_modules(TIRPC REQUIRED IMPORTED_TARGET libtirpc)

add_executable(rpcmsg_tirpc ${CMAKE_CURRENT_LIST_DIR}/rpcmsg_tirpc.c)
target_link_libraries(rpcmsg_tirpc PRIVATE tether_static PkgConfig::TIRPC)
tether_test(interop.rpcmsg.tirpc LABEL interop COMMAND rpcmsg_tirpc)

add_executable(rpcmsg_pcap ${CMAKE_CURRENT_LIST_DIR}/rpcmsg_pcap.c)
target_link_libraries(rpcmsg_pcap PRIVATE tether_static)
tether_test(interop.rpcmsg.tshark LABEL interop
	COMMAND ${CMAKE_CURRENT_LIST_DIR}/rpcmsg_tshark.sh
		$<TARGET_FILE:rpcmsg_pcap> ${CMAKE_CURRENT_BINARY_DIR}/rpcmsg)
