# CPack: `cpack -G DEB` (or `cpack -G TGZ`) from the build directory.
# Included from the top-level CMakeLists.txt after PlughostInstall.cmake.
set(CPACK_PACKAGE_NAME plughost)
set(CPACK_PACKAGE_VENDOR "plughost")
set(CPACK_PACKAGE_CONTACT "plughost maintainers <plughost@localhost>")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY
  "sandboxed plugin host: runs each plugin in its own confined process")
set(CPACK_PACKAGE_DESCRIPTION
  "plughost runs plugins (shared objects written against a small C SDK) each in
its own process, confined by seccomp, Landlock, namespaces and rlimits, and
calls their methods over JSON-RPC 2.0. This package holds the plughost
command, the trusted loader, the host and SDK libraries with their headers,
pkg-config files and CMake package, and the example plugins.")
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_RESOURCE_FILE_README ${PROJECT_SOURCE_DIR}/README.md)
set(CPACK_GENERATOR DEB)
set(CPACK_SOURCE_GENERATOR TGZ)
set(CPACK_SOURCE_IGNORE_FILES "/\\\\.git/" "/build[^/]*/" "/bench/out/")

set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT) # plughost_<version>_<arch>.deb
set(CPACK_DEBIAN_PACKAGE_SECTION devel)
set(CPACK_DEBIAN_PACKAGE_PRIORITY optional)
# Written out rather than computed by dpkg-shlibdeps, which would need the
# package's own libraries registered first; the floors are the versions the
# code was built and tested with on Debian 12.
set(CPACK_DEBIAN_PACKAGE_DEPENDS "libc6 (>= 2.34), libjansson4 (>= 2.14), libseccomp2 (>= 2.5)")
set(CPACK_DEBIAN_PACKAGE_SUGGESTS "pkg-config, cmake, libjansson-dev")
# Registers the shared libraries and adds the ldconfig trigger.
set(CPACK_DEBIAN_PACKAGE_GENERATE_SHLIBS ON)
set(CPACK_DEBIAN_PACKAGE_GENERATE_SHLIBS_POLICY ">=")

# The host finds its loader at a path compiled in from the configured prefix,
# so a package staged under /usr from a build configured for another prefix
# would install a plughost that cannot start any plugin. Refuse to make one.
set(PH_CONFIGURED_PREFIX "${CMAKE_INSTALL_PREFIX}")
configure_file(${PROJECT_SOURCE_DIR}/cmake/PlughostCPackOptions.cmake.in
  ${PROJECT_BINARY_DIR}/PlughostCPackOptions.cmake @ONLY)
set(CPACK_PROJECT_CONFIG_FILE ${PROJECT_BINARY_DIR}/PlughostCPackOptions.cmake)

include(CPack)
