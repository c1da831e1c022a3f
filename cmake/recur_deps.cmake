# Every third-party dependency is located here, one message per missing package.
# All of them are Debian packages installed by scripts/bootstrap.

find_package(nlohmann_json 3 REQUIRED)
find_package(CLI11 REQUIRED)

# recur_import_library(<target> <header> <library> <debian package> [<header dir> [<library dir>]]):
# an INTERFACE IMPORTED target for a C library found by one header and one library file, or a
# FATAL_ERROR naming the Debian package to install.
function(recur_import_library target header library package)
  set(hints_include "")
  set(hints_lib "")
  if(ARGC GREATER 4)
    set(hints_include PATHS ${ARGV4})
  endif()
  if(ARGC GREATER 5)
    set(hints_lib PATHS ${ARGV5})
  endif()
  string(MAKE_C_IDENTIFIER "${target}" id)
  find_path(RECUR_${id}_INCLUDE ${header} ${hints_include})
  find_library(RECUR_${id}_LIB ${library} ${hints_lib})
  if(NOT RECUR_${id}_INCLUDE OR NOT RECUR_${id}_LIB)
    message(FATAL_ERROR "${package} not found: install it with `apt-get install ${package}` "
                        "(scripts/bootstrap does this)")
  endif()
  add_library(${target} INTERFACE IMPORTED)
  target_include_directories(${target} INTERFACE ${RECUR_${id}_INCLUDE})
  target_link_libraries(${target} INTERFACE ${RECUR_${id}_LIB})
endfunction()

# BLAS: OpenBLAS (pthread flavour), chosen by measurement (docs/PERFORMANCE.md).
find_path(RECUR_CBLAS_INCLUDE cblas.h PATHS /usr/include/x86_64-linux-gnu/openblas-pthread
          /usr/include/openblas NO_DEFAULT_PATH)
find_library(RECUR_OPENBLAS_LIB NAMES openblas PATHS /usr/lib/x86_64-linux-gnu/openblas-pthread
             NO_DEFAULT_PATH)
if(NOT RECUR_CBLAS_INCLUDE OR NOT RECUR_OPENBLAS_LIB)
  message(FATAL_ERROR "OpenBLAS not found: install it with `apt-get install libopenblas-dev` "
                      "(scripts/bootstrap does this)")
endif()
add_library(recur::blas INTERFACE IMPORTED)
target_include_directories(recur::blas INTERFACE ${RECUR_CBLAS_INCLUDE})
target_link_libraries(recur::blas INTERFACE ${RECUR_OPENBLAS_LIB})

# oneDNN (dnnl_sgemm, the matrix products; docs/PERFORMANCE.md) and the OpenMP runtime it runs on.
find_path(RECUR_DNNL_INCLUDE oneapi/dnnl/dnnl.h)
find_library(RECUR_DNNL_LIB dnnl)
find_package(OpenMP COMPONENTS CXX)
if(NOT RECUR_DNNL_INCLUDE OR NOT RECUR_DNNL_LIB OR NOT OpenMP_CXX_FOUND)
  message(FATAL_ERROR "oneDNN not found: install it with `apt-get install libdnnl-dev` "
                      "(scripts/bootstrap does this)")
endif()
target_include_directories(recur::blas INTERFACE ${RECUR_DNNL_INCLUDE})
target_link_libraries(recur::blas INTERFACE ${RECUR_DNNL_LIB} OpenMP::OpenMP_CXX)

# SLEEF (vectorized exp) and Eigen (its vectorized tanh; header-only).
recur_import_library(recur::sleef sleef.h sleef libsleef-dev)
find_package(Eigen3 3.4 NO_MODULE QUIET)
if(NOT TARGET Eigen3::Eigen)
  message(FATAL_ERROR "Eigen 3.4 not found: install it with `apt-get install libeigen3-dev` "
                      "(scripts/bootstrap does this)")
endif()

# Interoperability (docs/interop/): ONNX's protobuf messages (libonnx-dev, over libprotobuf),
# HDF5 for Keras .h5 files (libhdf5-dev), libzip for Keras 3 .keras archives (libzip-dev).
find_package(Protobuf QUIET)
find_package(ONNX CONFIG QUIET)
if(NOT Protobuf_FOUND OR NOT TARGET onnx_proto)
  message(FATAL_ERROR "ONNX protobuf messages not found: install them with "
                      "`apt-get install libonnx-dev libprotobuf-dev` (scripts/bootstrap does this)")
endif()
recur_import_library(recur::hdf5 hdf5.h hdf5 libhdf5-dev /usr/include/hdf5/serial
                     /usr/lib/x86_64-linux-gnu/hdf5/serial)
recur_import_library(recur::zip zip.h zip libzip-dev)
