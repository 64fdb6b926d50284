#include "pkcs11/token_selector.h"

#include <algorithm>
#include <array>
#include <charconv>
#include <vector>

#include "pkcs11/return_codes.h"

namespace weftkit::pkcs11 {
namespace {

Error UriError(std::string detail) {
  return Error(ErrorKind::kInvalidArgument, "invalid_token_uri", std::move(detail));
}

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

Result<std::string> PercentDecode(std::string_view text) {
  std::string out;
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] != '%') {
      out.push_back(text[i]);
      continue;
    }
    int high = i + 2 < text.size() ? HexValue(text[i + 1]) : -1;
    int low = i + 2 < text.size() ? HexValue(text[i + 2]) : -1;
    if (high < 0 || low < 0) return UriError("malformed percent escape in pkcs11 URI");
    out.push_back(static_cast<char>(high * 16 + low));
    i += 2;
  }
  return out;
}

std::vector<std::string_view> Split(std::string_view text, char separator) {
  std::vector<std::string_view> parts;
  while (!text.empty()) {
    std::size_t end = text.find(separator);
    parts.push_back(text.substr(0, end));
    if (end == std::string_view::npos) break;
    text.remove_prefix(end + 1);
  }
  return parts;
}

// Path attributes that describe objects or the library, not the token; they do not narrow
// the token choice.
constexpr std::array<std::string_view, 6> kIgnoredAttributes = {
    "object", "type", "id", "library-manufacturer", "library-description", "library-version"};

Status ApplyAttribute(std::string_view name, std::string value, TokenSelector& selector) {
  if (name == "token") {
    selector.label = std::move(value);
  } else if (name == "serial") {
    selector.serial = std::move(value);
  } else if (name == "manufacturer") {
    selector.manufacturer = std::move(value);
  } else if (name == "model") {
    selector.model = std::move(value);
  } else if (name == "slot-id") {
    CK_SLOT_ID slot = 0;
    auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), slot);
    if (ec != std::errc() || end != value.data() + value.size() || value.empty()) {
      return UriError("slot-id in pkcs11 URI is not a number");
    }
    selector.slot_id = slot;
  } else if (std::find(kIgnoredAttributes.begin(), kIgnoredAttributes.end(), name) ==
             kIgnoredAttributes.end()) {
    return UriError("unknown attribute '" + std::string(name) + "' in pkcs11 URI");
  }
  return OkStatus();
}

Status CheckQuery(std::string_view query) {
  for (std::string_view part : Split(query, '&')) {
    if (part.substr(0, part.find('=')) == "pin-value") {
      return UriError("pkcs11 URI carries pin-value; configure the PIN file instead");
    }
  }
  return OkStatus();
}

bool FieldEquals(const std::optional<std::string>& wanted, const unsigned char* field,
                 std::size_t size) {
  return !wanted.has_value() || *wanted == TrimPadded(field, size);
}

}  // namespace

std::string TrimPadded(const unsigned char* field, std::size_t size) {
  std::string text(reinterpret_cast<const char*>(field), size);
  std::size_t end = text.find_last_not_of(' ');
  return end == std::string::npos ? std::string() : text.substr(0, end + 1);
}

bool TokenSelector::empty() const {
  return !label && !serial && !manufacturer && !model && !slot_id;
}

bool TokenSelector::Matches(CK_SLOT_ID slot, const CK_TOKEN_INFO& info) const {
  if (slot_id.has_value() && *slot_id != slot) return false;
  return FieldEquals(label, info.label, sizeof(info.label)) &&
         FieldEquals(serial, info.serialNumber, sizeof(info.serialNumber)) &&
         FieldEquals(manufacturer, info.manufacturerID, sizeof(info.manufacturerID)) &&
         FieldEquals(model, info.model, sizeof(info.model));
}

std::string TokenSelector::Describe() const {
  std::string text;
  auto add = [&text](std::string_view name, const std::string& value) {
    if (!text.empty()) text += ';';
    text += std::string(name) + '=' + value;
  };
  if (label) add("token", *label);
  if (serial) add("serial", *serial);
  if (manufacturer) add("manufacturer", *manufacturer);
  if (model) add("model", *model);
  if (slot_id) add("slot-id", std::to_string(*slot_id));
  return text;
}

Result<TokenSelector> ParseTokenUri(std::string_view uri) {
  constexpr std::string_view kScheme = "pkcs11:";
  if (uri.substr(0, kScheme.size()) != kScheme) return UriError("URI does not start with pkcs11:");
  uri.remove_prefix(kScheme.size());

  std::size_t query_start = uri.find('?');
  if (query_start != std::string_view::npos) {
    WK_RETURN_IF_ERROR(CheckQuery(uri.substr(query_start + 1)));
    uri = uri.substr(0, query_start);
  }

  TokenSelector selector;
  for (std::string_view attribute : Split(uri, ';')) {
    std::size_t equals = attribute.find('=');
    if (equals == std::string_view::npos) return UriError("pkcs11 URI attribute without '='");
    WK_ASSIGN_OR_RETURN(std::string value, PercentDecode(attribute.substr(equals + 1)));
    WK_RETURN_IF_ERROR(ApplyAttribute(attribute.substr(0, equals), std::move(value), selector));
  }
  return selector;
}

Result<TokenSelector> MakeTokenSelector(const std::string& label, const std::string& uri) {
  TokenSelector selector;
  if (!uri.empty()) {
    WK_ASSIGN_OR_RETURN(selector, ParseTokenUri(uri));
  }
  if (!label.empty()) {
    if (selector.label.has_value() && *selector.label != label) {
      return Error(ErrorKind::kInvalidArgument, "invalid_token_uri",
                   "token label '" + label + "' disagrees with the token URI");
    }
    selector.label = label;
  }
  if (selector.empty()) {
    return Error(ErrorKind::kInvalidArgument, "invalid_token_uri",
                 "neither a token label nor a token URI attribute is configured");
  }
  return selector;
}

Result<CK_SLOT_ID> FindSlot(CK_FUNCTION_LIST_PTR functions, const TokenSelector& selector) {
  CK_ULONG count = 0;
  CK_RV rv = functions->C_GetSlotList(CK_TRUE, nullptr, &count);
  if (rv != CKR_OK) return ToError(rv, "C_GetSlotList");
  std::vector<CK_SLOT_ID> slots(count);
  rv = functions->C_GetSlotList(CK_TRUE, slots.data(), &count);
  if (rv != CKR_OK) return ToError(rv, "C_GetSlotList");
  slots.resize(count);

  for (CK_SLOT_ID slot : slots) {
    CK_TOKEN_INFO info{};
    rv = functions->C_GetTokenInfo(slot, &info);
    // A token removed between the two calls is simply not a candidate.
    if (rv == CKR_TOKEN_NOT_PRESENT) continue;
    if (rv != CKR_OK) return ToError(rv, "C_GetTokenInfo");
    if ((info.flags & CKF_TOKEN_INITIALIZED) != 0 && selector.Matches(slot, info)) return slot;
  }
  return Error(ErrorKind::kNotFound, "hsm_token_not_found",
               "no initialised token matches " + selector.Describe());
}

}  // namespace weftkit::pkcs11
