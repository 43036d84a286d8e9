# The version is the header's (NS_VERSION_MAJOR/MINOR/PATCH), read from the copy published beside the library. A
# newer library serves a program written for an older version (the header only grows: see ns_options_init), so any
# version at or above the one asked for is compatible.
get_filename_component(_neuralstyle_header "${CMAKE_CURRENT_LIST_DIR}/../../../include/neuralstyle.h" ABSOLUTE)
set(PACKAGE_VERSION "")
foreach(_part MAJOR MINOR PATCH)
  file(STRINGS "${_neuralstyle_header}" _line REGEX "^#define NS_VERSION_${_part} [0-9]+$")
  string(REGEX REPLACE "^#define NS_VERSION_${_part} " "" _number "${_line}")
  list(APPEND PACKAGE_VERSION "${_number}")
endforeach()
string(REPLACE ";" "." PACKAGE_VERSION "${PACKAGE_VERSION}")

if(PACKAGE_FIND_VERSION VERSION_GREATER PACKAGE_VERSION)
  set(PACKAGE_VERSION_COMPATIBLE FALSE)
else()
  set(PACKAGE_VERSION_COMPATIBLE TRUE)
  if(PACKAGE_FIND_VERSION VERSION_EQUAL PACKAGE_VERSION)
    set(PACKAGE_VERSION_EXACT TRUE)
  endif()
endif()

unset(_neuralstyle_header)
unset(_part)
unset(_line)
unset(_number)
