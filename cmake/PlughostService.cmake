# Install rules for running plughost as a service: the systemd units of
# docs/systemd, the example configuration they use, and the operator's empty
# plugin directory; and, for the .deb, the maintainer scripts and conffiles.
# Included from the top-level CMakeLists.txt after PlughostInstall.cmake and
# before PlughostPackaging.cmake (which includes CPack and so must come
# after every CPACK_ variable set here). docs/operating.md describes the
# result.
#
# Where things go. Under /usr (the .deb) these are the places Debian
# operators look: the units in /lib/systemd/system, the configuration in
# /etc/plughost, the plugin directory in /var/lib/plughost/plugins (beside
# the package's own plugins in /usr/lib/plughost/plugins, which dpkg owns
# and replaces on upgrade). Under any other prefix everything stays under
# it: PREFIX/lib/systemd/system (systemd reads /usr/local/lib/systemd/system,
# so a /usr/local install is enabled the same way), PREFIX/etc/plughost and
# PREFIX/var/lib/plughost/plugins; the units name those paths.
if(CMAKE_INSTALL_PREFIX STREQUAL "/usr")
  set(_ph_unitdir_default /lib/systemd/system)
else()
  set(_ph_unitdir_default lib/systemd/system)
endif()
set(PH_INSTALL_SYSTEMDUNITDIR ${_ph_unitdir_default} CACHE STRING
  "Where plughost.service and plughost.socket are installed (relative: to the prefix)")
set(PH_SERVICE_CONFDIR ${CMAKE_INSTALL_FULL_SYSCONFDIR}/plughost)
set(PH_SERVICE_PLUGINDIR ${CMAKE_INSTALL_FULL_LOCALSTATEDIR}/lib/plughost/plugins)

# docs/systemd holds the units as the /usr package installs them (so that
# they are checked as they are shipped, tests/integration/test_systemd_units);
# for another prefix its paths are rewritten here.
file(READ ${PROJECT_SOURCE_DIR}/docs/systemd/plughost.service _ph_service)
string(REPLACE "/usr/bin/plughost" "${CMAKE_INSTALL_FULL_BINDIR}/plughost" _ph_service
  "${_ph_service}")
string(REPLACE "/etc/plughost" "${PH_SERVICE_CONFDIR}" _ph_service "${_ph_service}")
string(REPLACE "/var/lib/plughost/plugins" "${PH_SERVICE_PLUGINDIR}" _ph_service
  "${_ph_service}")
file(WRITE ${PROJECT_BINARY_DIR}/systemd/plughost.service "${_ph_service}")
configure_file(${PROJECT_SOURCE_DIR}/docs/systemd/plughost.socket
  ${PROJECT_BINARY_DIR}/systemd/plughost.socket COPYONLY)
install(FILES ${PROJECT_BINARY_DIR}/systemd/plughost.service
  ${PROJECT_BINARY_DIR}/systemd/plughost.socket DESTINATION ${PH_INSTALL_SYSTEMDUNITDIR})
install(FILES ${PROJECT_SOURCE_DIR}/docs/systemd/plughost.json DESTINATION ${PH_SERVICE_CONFDIR})
# Empty, root's, 0755: only root adds plugins; the service reads them.
install(DIRECTORY DESTINATION ${PH_SERVICE_PLUGINDIR}
  DIRECTORY_PERMISSIONS OWNER_READ OWNER_WRITE OWNER_EXECUTE GROUP_READ GROUP_EXECUTE
  WORLD_READ WORLD_EXECUTE)

# The .deb: the group the socket and the service name, made at install;
# nothing enabled or started (cmake/deb/postinst says why); the
# configuration is a conffile, so an upgrade keeps the operator's edits.
configure_file(${PROJECT_SOURCE_DIR}/cmake/deb/conffiles.in ${PROJECT_BINARY_DIR}/deb/conffiles
  @ONLY)
foreach(_s postinst prerm postrm)
  configure_file(${PROJECT_SOURCE_DIR}/cmake/deb/${_s} ${PROJECT_BINARY_DIR}/deb/${_s} COPYONLY)
endforeach()
set(CPACK_DEBIAN_PACKAGE_CONTROL_EXTRA ${PROJECT_BINARY_DIR}/deb/conffiles
  ${PROJECT_BINARY_DIR}/deb/postinst ${PROJECT_BINARY_DIR}/deb/prerm
  ${PROJECT_BINARY_DIR}/deb/postrm)
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION TRUE)
