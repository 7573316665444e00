# portmap.cmake - interop tests of tether-portmap against Debian's rpcbind
# and rpcinfo and a libtirpc server/client built from Debian's rpcgen
# output, in a network namespace the test makes (needs root). A missing
# peer makes the test fail (never skip).
# Debian packages: rpcbind, libtirpc-dev, rpcsvc-proto (rpcgen),
# iproute2, python3, util-linux.
find_program(TETHER_RPCGEN rpcgen)
pkg_check_modules(TIRPC IMPORTED_TARGET libtirpc)
if(TIRPC_FOUND AND TETHER_RPCGEN AND TARGET tether-portmap)
	set(pm_x ${CMAKE_CURRENT_LIST_DIR}/portmap_peer.x)
	set(pm_gen ${CMAKE_CURRENT_BINARY_DIR}/portmap_gen)
	add_custom_command(
		OUTPUT ${pm_gen}/portmap_peer.h ${pm_gen}/portmap_peer_svc.c
			${pm_gen}/portmap_peer_clnt.c
		COMMAND ${CMAKE_COMMAND} -E make_directory ${pm_gen}
		COMMAND ${CMAKE_COMMAND} -E copy ${pm_x} ${pm_gen}/portmap_peer.x
		COMMAND ${TETHER_RPCGEN} -h -o portmap_peer.h portmap_peer.x
		COMMAND ${TETHER_RPCGEN} -m -o portmap_peer_svc.c portmap_peer.x
		COMMAND ${TETHER_RPCGEN} -l -o portmap_peer_clnt.c portmap_peer.x
		WORKING_DIRECTORY ${pm_gen}
		DEPENDS ${pm_x}
		COMMENT "rpcgen portmap_peer.x")
	add_executable(portmap_peer ${CMAKE_CURRENT_LIST_DIR}/portmap_peer.c
		${pm_gen}/portmap_peer_svc.c ${pm_gen}/portmap_peer_clnt.c)
	# rpcgen's output is not ours to make warning-free.
	set_source_files_properties(${pm_gen}/portmap_peer_svc.c
		${pm_gen}/portmap_peer_clnt.c PROPERTIES COMPILE_OPTIONS "-w")
	target_include_directories(portmap_peer PRIVATE ${pm_gen})
	target_link_libraries(portmap_peer PRIVATE PkgConfig::TIRPC)
	tether_test(interop.portmap.rpcbind LABEL interop TIMEOUT 300
		COMMAND sh ${CMAKE_CURRENT_LIST_DIR}/portmap_netns.sh
			$<TARGET_FILE:tether-portmap> $<TARGET_FILE:portmap_peer>
			${CMAKE_CURRENT_BINARY_DIR}/portmap_work)
	set_tests_properties(interop.portmap.rpcbind PROPERTIES RUN_SERIAL ON)
	tether_test(interop.portmap.forward LABEL interop TIMEOUT 300
		COMMAND sh ${CMAKE_CURRENT_LIST_DIR}/portmap_fwd.sh
			$<TARGET_FILE:tether-portmap> $<TARGET_FILE:portmap_peer>
			${CMAKE_CURRENT_LIST_DIR}/portmap_rpc.py
			$<TARGET_FILE:tetherctl>
			${CMAKE_CURRENT_BINARY_DIR}/portmap_fwd_work)
	tether_test(integration.portmap.cli LABEL integration
		COMMAND sh ${CMAKE_CURRENT_LIST_DIR}/portmap_cli.sh
			$<TARGET_FILE:tether-portmap>
			${CMAKE_CURRENT_LIST_DIR}/portmap_rpc.py)
	tether_test(integration.portmap.ctl LABEL integration
		COMMAND sh ${CMAKE_CURRENT_LIST_DIR}/portmap_ctl.sh
			$<TARGET_FILE:tether-portmap> $<TARGET_FILE:tetherctl>
			${CMAKE_CURRENT_LIST_DIR}/portmap_rpc.py)
	tether_test(integration.portmap.conf LABEL integration
		COMMAND sh ${CMAKE_CURRENT_LIST_DIR}/portmap_conf.sh
			$<TARGET_FILE:tether-portmap>
			${CMAKE_CURRENT_LIST_DIR}/portmap_rpc.py
			${PROJECT_SOURCE_DIR}/examples/portmap.conf
			$<TARGET_FILE:tetherctl>)
	tether_test(integration.portmap.prune LABEL integration
		COMMAND sh ${CMAKE_CURRENT_LIST_DIR}/portmap_prune.sh
			$<TARGET_FILE:tether-portmap> $<TARGET_FILE:tetherctl>
			${CMAKE_CURRENT_LIST_DIR}/portmap_rpc.py)
else()
	tether_test(interop.portmap.rpcbind LABEL interop COMMAND sh -c
		"echo 'need libtirpc-dev, rpcgen (rpcsvc-proto) and tether-portmap' >&2; exit 1")
endif()
