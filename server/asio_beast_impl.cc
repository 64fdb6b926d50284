// The compiled bodies of Boost.Asio, Asio's SSL layer and Beast, built once for the whole server
// (BOOST_ASIO_SEPARATE_COMPILATION and BOOST_BEAST_SEPARATE_COMPILATION). Without this, every
// file that includes them compiles the implementations again, which costs minutes per build.
#include <boost/asio/impl/src.hpp>
#include <boost/asio/ssl/impl/src.hpp>
#include <boost/beast/src.hpp>
