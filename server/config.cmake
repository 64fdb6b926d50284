# kmsd's configuration loader: the INI dialect (ini_file.cc) and the typed, validated settings
# (config.cc). Included from server/CMakeLists.txt; see docs/configuration.md.
add_library(weftkit_config
  ${CMAKE_CURRENT_LIST_DIR}/config.cc
  ${CMAKE_CURRENT_LIST_DIR}/ini_file.cc
)
target_link_libraries(weftkit_config PUBLIC weftkit_common)
