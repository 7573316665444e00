# demo.cmake - scripts/demo, the README's first command, runs in --check
# mode on this build's programs (tether-lb, tetherctl, tether-portmap,
# demo-server, demo-client) inside the private network and PID
# namespaces it creates (root, or unprivileged user namespaces).
# Debian packages: iproute2, util-linux (unshare); curl for the metrics.
tether_test(integration.demo LABEL integration TIMEOUT 90
	COMMAND sh ${CMAKE_CURRENT_LIST_DIR}/demo_check.sh
		${PROJECT_SOURCE_DIR} ${PROJECT_BINARY_DIR})
