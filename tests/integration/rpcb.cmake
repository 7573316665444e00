# rpcb.cmake - interop tests of the portmap/rpcbind codecs: differential
# encoding and decoding against libtirpc (linked into this test only).
# A missing peer makes the test fail (never skip).
# Debian packages: libtirpc-dev.
pkg_check_modules(TIRPC IMPORTED_TARGET libtirpc)
if(TIRPC_FOUND)
	add_executable(rpcb_tirpc ${CMAKE_CURRENT_LIST_DIR}/rpcb_tirpc.c)
	target_link_libraries(rpcb_tirpc PRIVATE tether_static
		PkgConfig::TIRPC)
	tether_test(interop.rpcb.tirpc LABEL interop COMMAND rpcb_tirpc)
else()
	tether_test(interop.rpcb.tirpc LABEL interop COMMAND sh -c
		"echo 'libtirpc not found: install libtirpc-dev' >&2; exit 1")
endif()
