# weftkit-hsm-init: initialises a PKCS#11 token from PIN files (included from CMakeLists.txt).
add_executable(weftkit-hsm-init ${CMAKE_CURRENT_LIST_DIR}/hsm_init.cc)
target_link_libraries(weftkit-hsm-init PRIVATE weftkit_pkcs11 weftkit_common)
