# find_package(NeuralStyle) for a published libneuralstyle (dotnet publish src/NeuralStyle.Native … -o DIR), which
# puts this file in DIR/lib/cmake/NeuralStyle, the header in DIR/include and the libraries in DIR itself. Give CMake
# DIR as CMAKE_PREFIX_PATH (or this folder as NeuralStyle_DIR); link the imported target NeuralStyle::neuralstyle.
# Paths are relative to this file, so DIR can be moved or copied whole.
get_filename_component(_neuralstyle_root "${CMAKE_CURRENT_LIST_DIR}/../../.." ABSOLUTE)

if(WIN32)
  set(NeuralStyle_FOUND FALSE)
  set(NeuralStyle_NOT_FOUND_MESSAGE "NeuralStyle's CMake package describes the Linux and macOS libraries only; on Windows, link the import library of the NativeAOT build yourself.")
  return()
endif()

if(APPLE)
  set(_neuralstyle_library "${_neuralstyle_root}/libneuralstyle.dylib")
else()
  set(_neuralstyle_library "${_neuralstyle_root}/libneuralstyle.so")
endif()

if(NOT EXISTS "${_neuralstyle_library}" OR NOT EXISTS "${_neuralstyle_root}/include/neuralstyle.h")
  set(NeuralStyle_FOUND FALSE)
  set(NeuralStyle_NOT_FOUND_MESSAGE "${_neuralstyle_root} lacks ${_neuralstyle_library} or include/neuralstyle.h: copy the whole folder dotnet publish wrote, not this file alone.")
  return()
endif()

if(NOT TARGET NeuralStyle::neuralstyle)
  add_library(NeuralStyle::neuralstyle SHARED IMPORTED)
  # The library has no SONAME: linked as -lneuralstyle, a program asks for it by name (found through its RPATH, which
  # CMake sets to this folder) rather than by the absolute path of this build.
  set_target_properties(NeuralStyle::neuralstyle PROPERTIES
    IMPORTED_LOCATION "${_neuralstyle_library}"
    IMPORTED_NO_SONAME TRUE
    INTERFACE_INCLUDE_DIRECTORIES "${_neuralstyle_root}/include")
endif()

unset(_neuralstyle_library)
unset(_neuralstyle_root)
