# `make package`: nself-realtime_<version>_amd64.deb. The server, its demo page and the JS SDK
# (component `server`: all the container image takes), and what only a system install wants
# (component `system`: the systemd unit, the settings file, the Debian docs). `system` is left
# out of a plain `cmake --install`, so a from-source install never writes to /etc or /lib.

set(package_dir ${CMAKE_SOURCE_DIR}/packaging)

# The packages the server needs at run time: [libraries], [recommends] and [image] sections.
file(STRINGS ${package_dir}/runtime-packages runtime_lines)
set(section "")
set(runtime_recommends "")
foreach(line IN LISTS runtime_lines)
  string(REGEX REPLACE "#.*" "" line "${line}")
  string(STRIP "${line}" line)
  if(line MATCHES "^\\[(.*)\\]$")
    set(section ${CMAKE_MATCH_1})
  elseif(line AND section STREQUAL "recommends")
    list(APPEND runtime_recommends ${line})
  endif()
endforeach()
list(JOIN runtime_recommends ", " runtime_recommends)

set(doc_dir /usr/share/doc/nself-realtime)
# A native package (the version has no Debian revision): its changelog is changelog.gz.
configure_file(${package_dir}/changelog.in ${CMAKE_BINARY_DIR}/package/changelog @ONLY)
# gzip -9n: what lintian wants (best compression, no name or time stamp inside).
execute_process(COMMAND gzip -9nf ${CMAKE_BINARY_DIR}/package/changelog)

install(FILES ${package_dir}/nself-realtime.service DESTINATION /lib/systemd/system
        COMPONENT system EXCLUDE_FROM_ALL)
# Root only: it holds secrets, and systemd reads it as root before starting the service.
install(FILES ${package_dir}/realtime.env DESTINATION /etc/nself-realtime
        PERMISSIONS OWNER_READ OWNER_WRITE COMPONENT system EXCLUDE_FROM_ALL)
install(FILES ${package_dir}/lintian-overrides DESTINATION share/lintian/overrides
        RENAME nself-realtime COMPONENT system EXCLUDE_FROM_ALL)
install(FILES ${package_dir}/copyright ${CMAKE_BINARY_DIR}/package/changelog.gz
              README.md docs/configuration.md docs/deployment.md docs/protocol.md
              docs/security.md
        DESTINATION ${doc_dir} COMPONENT system EXCLUDE_FROM_ALL)

set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME nself-realtime)
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
# Both components in one package.
set(CPACK_INSTALL_CMAKE_PROJECTS
    "${CMAKE_BINARY_DIR};nself-realtime;server;/" "${CMAKE_BINARY_DIR};nself-realtime;system;/")
set(CPACK_STRIP_FILES ON)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)  # nself-realtime_<version>_amd64.deb
set(CPACK_DEBIAN_PACKAGE_MAINTAINER "nself <hello@nself.org>" CACHE STRING
    "Maintainer field of the .deb")
set(CPACK_DEBIAN_PACKAGE_SECTION net)
set(CPACK_DEBIAN_PACKAGE_PRIORITY optional)
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "WebSocket pub/sub server with presence and typing")
# The synopsis is the summary above; CPack indents these lines and turns the empty one into " .".
set(CPACK_DEBIAN_PACKAGE_DESCRIPTION
    "nself-realtime delivers events published over HTTP or Redis to every
WebSocket client subscribed to a topic, tracks who is online, away or busy
across tabs and nodes, relays typing indicators, and writes each user's
last-seen status to PostgreSQL or SQLite. One node runs alone; several share
one Redis. Clients trade a Hasura JWT for a short-lived connection token.

This package runs it as a systemd service (nself-realtime.service), set up
in /etc/nself-realtime/realtime.env.")
# Depends: computed by dpkg-shlibdeps from the binary (tests/package checks it against
# packaging/runtime-packages, the image's list).
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
set(CPACK_DEBIAN_PACKAGE_RECOMMENDS "${runtime_recommends}")
# The settings file survives upgrades and removal (dpkg asks before replacing an edited one).
set(CPACK_DEBIAN_PACKAGE_CONTROL_EXTRA ${package_dir}/conffiles)
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION ON)
set(CPACK_DEBIAN_PACKAGE_GENERATE_SHLIBS OFF)
include(CPack)
