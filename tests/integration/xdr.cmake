# xdr.cmake - differential tests of our XDR codec against libtirpc's
# xdr_* routines (Debian: libtirpc-dev). libtirpc links only into this
# test binary. Without libtirpc the test still exists and fails.
find_package(PkgConfig REQUIRED)
pkg_check_modules(TIRPC IMPORTED_TARGET libtirpc)
if(TIRPC_FOUND)
	add_executable(interop_xdr_tirpc
		${CMAKE_CURRENT_LIST_DIR}/xdr_tirpc.c)
	target_link_libraries(interop_xdr_tirpc PRIVATE tether_static
		PkgConfig::TIRPC PkgConfig::CMOCKA)
	target_include_directories(interop_xdr_tirpc PRIVATE
		${PROJECT_SOURCE_DIR}/tests/unit)
	tether_test(interop.xdr-tirpc LABEL interop
		COMMAND interop_xdr_tirpc)
else()
	tether_test(interop.xdr-tirpc LABEL interop
		COMMAND sh -c "echo 'libtirpc not found: install libtirpc-dev' >&2; exit 1")
endif()
