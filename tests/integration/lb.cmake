# lb.cmake - tether-lb end to end on loopback (integration): backends and
# clients are Python 3 standard library code in lb_test.py, run with
# /usr/bin/python3 (Debian: python3-minimal). One ctest test per case.
foreach(case balance maglev persist parallel failure failure-midrun limits
		health connect-timeout slowloris slowloris-limit slowloris-client
		udp nofile drain proxyv2 range metrics reload reload-load
		reload-state reload-udp halfclose wlc passive slowstart
		maglev-slowstart maglev-reload badconf
		datapath-splice datapath-copy nodelay
		half-close-off retry-rst retry-fin urgent reload-relative)
	tether_test(integration.lb-${case} LABEL integration TIMEOUT 120
		COMMAND /usr/bin/python3 ${CMAKE_CURRENT_LIST_DIR}/lb_test.py
			$<TARGET_FILE:tether-lb> ${case}
			$<TARGET_FILE:tetherctl>)
endforeach()

# The example configuration shipped in examples/ stays valid.
tether_test(integration.lb-example LABEL integration
	COMMAND $<TARGET_FILE:tether-lb> -n -f
		${PROJECT_SOURCE_DIR}/examples/lb.conf)
set_tests_properties(integration.lb-example PROPERTIES
	PASS_REGULAR_EXPRESSION "^configuration OK\n$")

# With no arguments and no configuration file it starts with no services.
tether_test(integration.lb-noargs LABEL integration TIMEOUT 60
	COMMAND sh ${CMAKE_CURRENT_SOURCE_DIR}/lb_noargs.sh $<TARGET_FILE:tether-lb>)

# System calls per proxied connection, counted with strace: the backend's
# FIN that came with its reply costs no extra read.
tether_test(integration.lb-syscalls LABEL integration TIMEOUT 60
	COMMAND /usr/bin/python3 ${CMAKE_CURRENT_LIST_DIR}/lb_syscalls.py
		$<TARGET_FILE:tether-lb>)
