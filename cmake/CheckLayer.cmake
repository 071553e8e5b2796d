# Fails the build when a file of one layer includes a header of a layer it may not use.
#   cmake -DLAYER=core -DDIR=<root>/src/core -DROOT=<root> -DALLOWED="core;common;..." -P CheckLayer.cmake
# Every internal include names its header from the project root ("src/core/plan.h",
# "transports/tcp/socket.h"), so the path says which layer a header belongs to.
cmake_minimum_required(VERSION 3.22)
set(layer_dirs
  common=src/common reduce=src/reduce topology=topology transports=transports
  algorithms=src/algorithms core=src/core moe=src/moe api=src/api)

file(GLOB_RECURSE files "${DIR}/*.h" "${DIR}/*.cc")
set(problems "")
foreach(file ${files})
  file(STRINGS "${file}" includes REGEX "^#include \"")
  foreach(line ${includes})
    string(REGEX REPLACE "^#include \"([^\"]+)\".*" "\\1" header "${line}")
    foreach(pair ${layer_dirs})
      string(REPLACE "=" ";" pair "${pair}")
      list(GET pair 0 other)
      list(GET pair 1 other_dir)
      string(FIND "${header}" "${other_dir}/" at)
      if(at EQUAL 0 AND NOT other IN_LIST ALLOWED)
        file(RELATIVE_PATH shown "${ROOT}" "${file}")
        string(APPEND problems "\n  ${shown} includes ${header} (layer ${other})")
      endif()
    endforeach()
  endforeach()
endforeach()
if(problems)
  string(REPLACE ";" ", " allowed_text "${ALLOWED}")
  message(FATAL_ERROR "layer '${LAYER}' reaches a layer it may not use (it may use ${allowed_text}):${problems}")
endif()
