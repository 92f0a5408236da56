# Install rules for libhnn: headers, shared + static library, hnn.pc and a CMake package
# (find_package(hnn) -> hnn::hnn, hnn::hnn_static). Included from the top-level CMakeLists.
include(CMakePackageConfigHelpers)

set(HNN_CMAKE_DIR "${CMAKE_INSTALL_LIBDIR}/cmake/hnn")

# hnn_objects is not installed or exported: the two libraries take its objects through
# $<TARGET_OBJECTS:...> as sources, not through target_link_libraries, so nothing in the
# export set refers to it. (Linking it would force it into the export set.)
install(TARGETS hnn_shared hnn_static
  EXPORT hnnTargets
  LIBRARY DESTINATION "${CMAKE_INSTALL_LIBDIR}"
    COMPONENT Runtime NAMELINK_COMPONENT Development
  ARCHIVE DESTINATION "${CMAKE_INSTALL_LIBDIR}" COMPONENT Development
  RUNTIME DESTINATION "${CMAKE_INSTALL_BINDIR}" COMPONENT Runtime)

install(DIRECTORY "${PROJECT_SOURCE_DIR}/include/hnn"
  DESTINATION "${CMAKE_INSTALL_INCLUDEDIR}"
  COMPONENT Development
  FILES_MATCHING PATTERN "*.h")

install(EXPORT hnnTargets
  NAMESPACE hnn::
  DESTINATION "${HNN_CMAKE_DIR}"
  COMPONENT Development)

configure_package_config_file(
  "${CMAKE_CURRENT_LIST_DIR}/hnnConfig.cmake.in"
  "${PROJECT_BINARY_DIR}/hnnConfig.cmake"
  INSTALL_DESTINATION "${HNN_CMAKE_DIR}")
write_basic_package_version_file(
  "${PROJECT_BINARY_DIR}/hnnConfigVersion.cmake"
  VERSION "${PROJECT_VERSION}"
  COMPATIBILITY SameMajorVersion)
install(FILES
  "${PROJECT_BINARY_DIR}/hnnConfig.cmake"
  "${PROJECT_BINARY_DIR}/hnnConfigVersion.cmake"
  DESTINATION "${HNN_CMAKE_DIR}"
  COMPONENT Development)

# hnn.pc: prefix is found from ${pcfiledir}, so the install tree can be moved. libdir may
# be more than one level deep (lib/x86_64-linux-gnu on Debian with prefix /usr), so the
# way back up to the prefix is computed, not assumed.
set(HNN_PC_DIR "${CMAKE_INSTALL_LIBDIR}/pkgconfig")
if(IS_ABSOLUTE "${HNN_PC_DIR}")
  set(HNN_PC_PREFIX "${CMAKE_INSTALL_PREFIX}")   # absolute libdir: cannot relocate
else()
  file(RELATIVE_PATH _up "/_/${HNN_PC_DIR}" "/_")   # "../../", or deeper
  string(REGEX REPLACE "/$" "" _up "${_up}")
  set(HNN_PC_PREFIX "\${pcfiledir}/${_up}")
endif()
foreach(_dir LIBDIR INCLUDEDIR)
  if(IS_ABSOLUTE "${CMAKE_INSTALL_${_dir}}")
    set(HNN_PC_${_dir} "${CMAKE_INSTALL_${_dir}}")
  else()
    set(HNN_PC_${_dir} "\${prefix}/${CMAKE_INSTALL_${_dir}}")
  endif()
endforeach()
# A static libhnn built with OpenMP needs the OpenMP runtime at the final link.
set(HNN_PC_LIBS_PRIVATE "-lm")
if(HNN_OPENMP)
  string(APPEND HNN_PC_LIBS_PRIVATE " ${OpenMP_C_FLAGS}")
endif()
configure_file("${CMAKE_CURRENT_LIST_DIR}/hnn.pc.in" "${PROJECT_BINARY_DIR}/hnn.pc" @ONLY)
install(FILES "${PROJECT_BINARY_DIR}/hnn.pc"
  DESTINATION "${HNN_PC_DIR}"
  COMPONENT Development)
