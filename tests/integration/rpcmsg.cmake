# rpcmsg.cmake - interop tests of the RPC message layer: differential
# parsing against libtirpc (linked into this test only), and tshark
# dissecting a pcap of every message form we produce. A missing peer
# makes its test fail (never skip); the rest of the build goes on.
# Debian packages: libtirpc-dev, tshark.
pkg_check_modules(TIRPC IMPORTED_TARGET libtirpc)
if(TIRPC_FOUND)
	add_executable(rpcmsg_tirpc ${CMAKE_CURRENT_LIST_DIR}/rpcmsg_tirpc.c)
	target_link_libraries(rpcmsg_tirpc PRIVATE tether_static
		PkgConfig::TIRPC)
	tether_test(interop.rpcmsg.tirpc LABEL interop COMMAND rpcmsg_tirpc)
else()
	tether_test(interop.rpcmsg.tirpc LABEL interop COMMAND sh -c
		"echo 'libtirpc not found: install libtirpc-dev' >&2; exit 1")
endif()

add_executable(rpcmsg_pcap ${CMAKE_CURRENT_LIST_DIR}/rpcmsg_pcap.c)
target_link_libraries(rpcmsg_pcap PRIVATE tether_static)
tether_test(interop.rpcmsg.tshark LABEL interop
	COMMAND ${CMAKE_CURRENT_LIST_DIR}/rpcmsg_tshark.sh
		$<TARGET_FILE:rpcmsg_pcap> ${CMAKE_CURRENT_BINARY_DIR}/rpcmsg)
