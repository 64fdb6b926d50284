// The device identity that every SIEM event names in its header.
#pragma once

#include <string>

namespace weftkit::audit::formats {

// Vendor, product and version as CEF's "Device Vendor|Device Product|Device Version" and LEEF's
// "Vendor|Product|Version". A SIEM keys its parsers on vendor and product, so these two stay
// fixed; the version is the server's (PROJECT_VERSION).
struct SiemProduct {
  std::string vendor = "WeftKit";
  std::string product = "KMS";
  std::string version;
};

// WeftKit, KMS and this build's version (the project version CMake was configured with).
SiemProduct KmsdSiemProduct();

}  // namespace weftkit::audit::formats
