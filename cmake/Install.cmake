# What `cmake --install build --prefix P` puts under P: the library, its headers, the CMake
# package and a relocatable pkg-config file, strata-run and strata-topo, the CUDA device module, and
# the perf tools.
include(GNUInstallDirs)
include(CMakePackageConfigHelpers)
install(TARGETS strata EXPORT StrataTargets LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR})
install(TARGETS nccl-net-strata LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR})
install(DIRECTORY include/strata DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
install(TARGETS strata-run RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
if(TARGET strata-topo)
  install(TARGETS strata-topo RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
endif()
# The device module beside libstrata, where libstrata looks for it.
if(TARGET strata_cuda)
  install(TARGETS strata_cuda LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR})
endif()
if(STRATA_BUILD_PERF)
  install(TARGETS ${STRATA_PERF_TOOLS} moe_dispatch_perf RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
endif()
install(EXPORT StrataTargets NAMESPACE Strata:: DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/Strata)
configure_package_config_file(cmake/StrataConfig.cmake.in ${CMAKE_BINARY_DIR}/StrataConfig.cmake
  INSTALL_DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/Strata)
write_basic_package_version_file(${CMAKE_BINARY_DIR}/StrataConfigVersion.cmake COMPATIBILITY SameMinorVersion)
install(FILES ${CMAKE_BINARY_DIR}/StrataConfig.cmake ${CMAKE_BINARY_DIR}/StrataConfigVersion.cmake
  DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/Strata)
# pkg-config: the prefix is computed from where the .pc file lies, so it is right for any --prefix.
file(RELATIVE_PATH STRATA_PC_TO_PREFIX /prefix/${CMAKE_INSTALL_LIBDIR}/pkgconfig /prefix)
configure_file(cmake/strata.pc.in ${CMAKE_BINARY_DIR}/strata.pc @ONLY)
install(FILES ${CMAKE_BINARY_DIR}/strata.pc DESTINATION ${CMAKE_INSTALL_LIBDIR}/pkgconfig)
