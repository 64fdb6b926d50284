#include "auth/scram_messages.h"

#include <algorithm>
#include <cctype>
#include <charconv>

#include "auth/scram_saslprep.h"
#include "common/base64.h"

namespace weftkit::auth {
namespace {

constexpr std::string_view kTlsExporter = "tls-exporter";

Error Refused(const char* code, const char* detail) {
  return Error(ErrorKind::kInvalidArgument, code, detail);
}

std::vector<std::string_view> SplitOnComma(std::string_view text) {
  std::vector<std::string_view> parts;
  std::size_t start = 0;
  while (true) {
    std::size_t comma = text.find(',', start);
    if (comma == std::string_view::npos) {
      parts.push_back(text.substr(start));
      return parts;
    }
    parts.push_back(text.substr(start, comma - start));
    start = comma + 1;
  }
}

// The value of `part` if it is "<name>=<value>"; the value may be empty.
std::optional<std::string_view> AttributeValue(std::string_view part, char name) {
  if (part.size() < 2 || part[0] != name || part[1] != '=') return std::nullopt;
  return part.substr(2);
}

// True for "<letter>=<anything>", the shape of an attribute this parser does not know.
bool LooksLikeAttribute(std::string_view part) {
  return part.size() >= 2 && std::isalpha(static_cast<unsigned char>(part[0])) && part[1] == '=';
}

// Refuses parts after the expected ones: extensions if they look like attributes.
Error TrailingPartsError(std::span<const std::string_view> extra) {
  bool attributes = std::all_of(extra.begin(), extra.end(), LooksLikeAttribute);
  return attributes ? Refused("scram_extensions_not_supported", "message carries extensions")
                    : Refused("scram_malformed_message", "unexpected text after the attributes");
}

Result<std::string_view> RequireAttribute(std::string_view part, char name, const char* detail) {
  std::optional<std::string_view> value = AttributeValue(part, name);
  if (!value.has_value() || value->empty()) return Refused("scram_malformed_message", detail);
  return *value;
}

bool IsNonceChar(char c) { return c >= 0x21 && c <= 0x7E && c != ','; }

Status CheckNonce(std::string_view nonce, std::size_t min, std::size_t max) {
  if (nonce.size() < min || nonce.size() > max ||
      !std::all_of(nonce.begin(), nonce.end(), IsNonceChar)) {
    return Refused("scram_invalid_nonce", "nonce has a bad length or character");
  }
  return OkStatus();
}

// A saslname of the gs2 header or client-first-bare: decoded, then checked as a user name.
Result<std::string> DecodeUserName(std::string_view encoded) {
  WK_ASSIGN_OR_RETURN(std::string name, DecodeSaslName(encoded));
  if (name.size() > kMaxUserNameBytes || !IsSaslPrepared(name)) {
    return Refused("scram_invalid_username",
                   "user name empty, too long or with refused characters");
  }
  return name;
}

bool IsChannelBindingName(std::string_view name) {
  return !name.empty() && std::all_of(name.begin(), name.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '-';
  });
}

Result<ChannelBindingFlag> ParseBindingFlag(std::string_view flag) {
  if (flag == "n") return ChannelBindingFlag::kNone;
  if (flag == "y") return ChannelBindingFlag::kClientCanBind;
  std::optional<std::string_view> name = AttributeValue(flag, 'p');
  if (name.has_value() && *name == kTlsExporter) return ChannelBindingFlag::kTlsExporter;
  if (name.has_value() && IsChannelBindingName(*name)) {
    return Refused("scram_unsupported_channel_binding_type", "channel binding type not offered");
  }
  return Refused("scram_invalid_gs2_header", "gs2 channel-binding flag malformed");
}

Result<std::string> ParseAuthzid(std::string_view part) {
  if (part.empty()) return std::string();
  std::optional<std::string_view> value = AttributeValue(part, 'a');
  if (!value.has_value()) return Refused("scram_invalid_gs2_header", "gs2 authzid malformed");
  return DecodeUserName(*value);
}

// Decodes a base64 attribute value, mapping the codec's error to this module's code.
Result<std::vector<std::uint8_t>> DecodeBase64Attribute(std::string_view value) {
  Result<std::vector<std::uint8_t>> decoded = Base64Decode(value);
  if (!decoded.ok()) return Refused("scram_invalid_base64", "attribute is not canonical base64");
  return decoded;
}

Result<std::uint32_t> ParseIterations(std::string_view text) {
  std::uint32_t value = 0;
  auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (error != std::errc() || end != text.data() + text.size() || text.empty() ||
      (text.size() > 1 && text[0] == '0')) {
    return Refused("scram_malformed_message", "iteration count is not a positive integer");
  }
  return value;
}

Status CheckSize(std::string_view message) {
  if (message.size() > kMaxScramMessageBytes) {
    return Refused("scram_message_too_large", "SCRAM message above the size limit");
  }
  return OkStatus();
}

struct ServerErrorEntry {
  std::string_view code;
  std::string_view value;
};

// Failures the server reports in a server-final-message, with RFC 5802 §7's values. An unknown
// user is deliberately absent: it fails as invalid-proof, so names cannot be enumerated.
constexpr ServerErrorEntry kServerErrors[] = {
    {"scram_message_too_large", "invalid-encoding"},
    {"scram_malformed_message", "invalid-encoding"},
    {"scram_invalid_base64", "invalid-encoding"},
    {"scram_invalid_nonce", "invalid-encoding"},
    {"scram_invalid_proof_encoding", "invalid-encoding"},
    {"scram_invalid_gs2_header", "invalid-encoding"},
    {"scram_extensions_not_supported", "extensions-not-supported"},
    {"scram_invalid_proof", "invalid-proof"},
    {"scram_channel_bindings_dont_match", "channel-bindings-dont-match"},
    {"scram_downgrade_detected", "server-does-support-channel-binding"},
    {"scram_channel_binding_not_supported", "channel-binding-not-supported"},
    {"scram_unsupported_channel_binding_type", "unsupported-channel-binding-type"},
    {"scram_invalid_username_encoding", "invalid-username-encoding"},
    {"scram_invalid_username", "invalid-username-encoding"},
    {"scram_too_many_exchanges", "no-resources"},
    {"scram_authzid_refused", "other-error"},
    {"scram_nonce_mismatch", "other-error"},
    {"scram_mechanism_mismatch", "other-error"},
    {"scram_channel_binding_required", "other-error"},
};

}  // namespace

std::string EncodeSaslName(std::string_view name) {
  std::string encoded;
  for (char c : name) {
    if (c == ',') {
      encoded += "=2C";
    } else if (c == '=') {
      encoded += "=3D";
    } else {
      encoded += c;
    }
  }
  return encoded;
}

Result<std::string> DecodeSaslName(std::string_view encoded) {
  std::string name;
  for (std::size_t i = 0; i < encoded.size(); ++i) {
    if (encoded[i] != '=') {
      name += encoded[i];
      continue;
    }
    std::string_view escape = encoded.substr(i + 1, 2);
    if (escape != "2C" && escape != "3D") {
      return Refused("scram_invalid_username_encoding", "'=' not followed by 2C or 3D");
    }
    name += escape == "2C" ? ',' : '=';
    i += 2;
  }
  return name;
}

Result<ClientFirstMessage> ParseClientFirst(std::string_view message) {
  WK_RETURN_IF_ERROR(CheckSize(message));
  std::vector<std::string_view> parts = SplitOnComma(message);
  if (parts.size() < 3) return Refused("scram_invalid_gs2_header", "no complete gs2 header");

  ClientFirstMessage parsed;
  WK_ASSIGN_OR_RETURN(parsed.binding, ParseBindingFlag(parts[0]));
  WK_ASSIGN_OR_RETURN(parsed.authzid, ParseAuthzid(parts[1]));
  parsed.gs2_header = std::string(message.substr(0, parts[0].size() + parts[1].size() + 2));
  parsed.bare = std::string(message.substr(parsed.gs2_header.size()));

  if (AttributeValue(parts[2], 'm').has_value()) {
    return Refused("scram_extensions_not_supported", "reserved m= attribute present");
  }
  WK_ASSIGN_OR_RETURN(std::string_view user, RequireAttribute(parts[2], 'n', "no n= user name"));
  WK_ASSIGN_OR_RETURN(parsed.username, DecodeUserName(user));
  if (parts.size() < 4) return Refused("scram_malformed_message", "no r= nonce");
  WK_ASSIGN_OR_RETURN(std::string_view nonce, RequireAttribute(parts[3], 'r', "no r= nonce"));
  WK_RETURN_IF_ERROR(CheckNonce(nonce, kMinClientNonce, kMaxClientNonce));
  parsed.client_nonce = std::string(nonce);
  if (parts.size() > 4) return TrailingPartsError(std::span(parts).subspan(4));
  return parsed;
}

Result<ClientFinalMessage> ParseClientFinal(std::string_view message) {
  WK_RETURN_IF_ERROR(CheckSize(message));
  std::vector<std::string_view> parts = SplitOnComma(message);
  if (parts.size() < 3) return Refused("scram_malformed_message", "client-final too short");

  ClientFinalMessage parsed;
  WK_ASSIGN_OR_RETURN(std::string_view binding, RequireAttribute(parts[0], 'c', "no c= binding"));
  WK_ASSIGN_OR_RETURN(parsed.channel_binding, DecodeBase64Attribute(binding));
  WK_ASSIGN_OR_RETURN(std::string_view nonce, RequireAttribute(parts[1], 'r', "no r= nonce"));
  WK_RETURN_IF_ERROR(CheckNonce(nonce, kMinClientNonce + 1, kMaxScramMessageBytes));
  parsed.nonce = std::string(nonce);

  WK_ASSIGN_OR_RETURN(std::string_view proof, RequireAttribute(parts.back(), 'p', "no p= proof"));
  if (parts.size() > 3) return TrailingPartsError(std::span(parts).subspan(2, parts.size() - 3));
  WK_ASSIGN_OR_RETURN(parsed.proof, DecodeBase64Attribute(proof));
  if (parsed.proof.size() != 32) {
    return Refused("scram_invalid_proof_encoding", "proof is not 32 bytes");
  }
  parsed.without_proof = std::string(message.substr(0, message.size() - parts.back().size() - 1));
  return parsed;
}

std::string FormatServerFirst(std::string_view nonce, std::span<const std::uint8_t> salt,
                              std::uint32_t iterations) {
  return "r=" + std::string(nonce) + ",s=" + Base64Encode(salt) +
         ",i=" + std::to_string(iterations);
}

std::string FormatServerFinal(std::span<const std::uint8_t> server_signature) {
  return "v=" + Base64Encode(server_signature);
}

std::string FormatServerError(std::string_view server_error_value) {
  return "e=" + std::string(server_error_value);
}

std::optional<std::string_view> ServerErrorValueFor(std::string_view code) {
  for (const ServerErrorEntry& entry : kServerErrors) {
    if (entry.code == code) return entry.value;
  }
  return std::nullopt;
}

Result<ServerFirstMessage> ParseServerFirst(std::string_view message) {
  WK_RETURN_IF_ERROR(CheckSize(message));
  std::vector<std::string_view> parts = SplitOnComma(message);
  if (parts.size() != 3) return Refused("scram_malformed_message", "server-first needs r, s, i");

  ServerFirstMessage parsed;
  WK_ASSIGN_OR_RETURN(std::string_view nonce, RequireAttribute(parts[0], 'r', "no r= nonce"));
  WK_RETURN_IF_ERROR(CheckNonce(nonce, kMinClientNonce + 1, kMaxScramMessageBytes));
  parsed.nonce = std::string(nonce);
  WK_ASSIGN_OR_RETURN(std::string_view salt, RequireAttribute(parts[1], 's', "no s= salt"));
  WK_ASSIGN_OR_RETURN(parsed.salt, DecodeBase64Attribute(salt));
  WK_ASSIGN_OR_RETURN(std::string_view count, RequireAttribute(parts[2], 'i', "no i= count"));
  WK_ASSIGN_OR_RETURN(parsed.iterations, ParseIterations(count));
  return parsed;
}

Result<ServerFinalMessage> ParseServerFinal(std::string_view message) {
  WK_RETURN_IF_ERROR(CheckSize(message));
  ServerFinalMessage parsed;
  if (std::optional<std::string_view> error = AttributeValue(message, 'e')) {
    if (error->empty() || error->find(',') != std::string_view::npos) {
      return Refused("scram_malformed_message", "server-error malformed");
    }
    parsed.error = std::string(*error);
    return parsed;
  }
  WK_ASSIGN_OR_RETURN(std::string_view verifier, RequireAttribute(message, 'v', "no v= or e="));
  if (verifier.find(',') != std::string_view::npos) {
    return Refused("scram_extensions_not_supported", "server-final carries extensions");
  }
  WK_ASSIGN_OR_RETURN(parsed.verifier, DecodeBase64Attribute(verifier));
  return parsed;
}

}  // namespace weftkit::auth
