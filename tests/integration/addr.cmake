# addr.cmake - the tether-addr tool on good and bad inputs (integration),
# and tether's universal addresses against libtirpc's (interop). The
# libtirpc test needs libtirpc-dev; it is the only binary linking it.
tether_test(integration.addr-tool LABEL integration
	COMMAND sh ${CMAKE_CURRENT_LIST_DIR}/addr_tool.sh
		$<TARGET_FILE:tether-addr>)

pkg_check_modules(TIRPC IMPORTED_TARGET libtirpc)
if(TIRPC_FOUND)
	add_executable(addr_tirpc ${CMAKE_CURRENT_LIST_DIR}/addr_tirpc.c)
	target_link_libraries(addr_tirpc PRIVATE tether_static
		PkgConfig::TIRPC)
	tether_test(interop.addr-tirpc LABEL interop COMMAND addr_tirpc)
else()
	# The peer is missing: the test fails rather than skips.
	tether_test(interop.addr-tirpc LABEL interop COMMAND sh -c
		"echo 'libtirpc not found: install libtirpc-dev' >&2; exit 1")
endif()
