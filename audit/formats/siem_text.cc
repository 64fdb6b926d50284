#include "audit/formats/siem_text.h"

#include <arpa/inet.h>

#include <array>
#include <charconv>

namespace weftkit::audit::formats {
namespace {

bool InRange(unsigned char byte, unsigned char low, unsigned char high) {
  return byte >= low && byte <= high;
}

// The allowed range of the second byte for each lead byte of a multi-byte sequence, from the
// table of well-formed sequences in RFC 3629 section 4 (later bytes are always 80..BF).
struct LeadByte {
  unsigned char first_low, first_high;  // lead byte range
  unsigned char second_low, second_high;
  std::size_t length;
};
constexpr std::array<LeadByte, 7> kLeadBytes{{
    {0xC2, 0xDF, 0x80, 0xBF, 2},
    {0xE0, 0xE0, 0xA0, 0xBF, 3},
    {0xE1, 0xEC, 0x80, 0xBF, 3},
    {0xED, 0xED, 0x80, 0x9F, 3},  // excludes the UTF-16 surrogates
    {0xEE, 0xEF, 0x80, 0xBF, 3},
    {0xF0, 0xF0, 0x90, 0xBF, 4},
    {0xF1, 0xF3, 0x80, 0xBF, 4},
}};
constexpr LeadByte kLastPlaneLead{0xF4, 0xF4, 0x80, 0x8F, 4};  // up to U+10FFFF

std::optional<std::uint16_t> ParsePort(std::string_view text) {
  unsigned value = 0;
  if (text.empty() || text.size() > 5) return std::nullopt;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size() || value > 65535) return std::nullopt;
  return static_cast<std::uint16_t>(value);
}

// The canonical text of an address if `host` is one of `family`, else "".
std::string CanonicalAddress(int family, const std::string& host) {
  std::array<unsigned char, 16> binary{};
  if (inet_pton(family, host.c_str(), binary.data()) != 1) return "";
  std::array<char, INET6_ADDRSTRLEN> text{};
  if (inet_ntop(family, binary.data(), text.data(), text.size()) == nullptr) return "";
  return text.data();
}

}  // namespace

std::size_t Utf8CharacterLength(std::string_view text) {
  if (text.empty()) return 0;
  auto lead = static_cast<unsigned char>(text[0]);
  if (lead < 0x80) return 1;
  const LeadByte* match = nullptr;
  for (const LeadByte& candidate : kLeadBytes) {
    if (InRange(lead, candidate.first_low, candidate.first_high)) match = &candidate;
  }
  if (lead == kLastPlaneLead.first_low) match = &kLastPlaneLead;
  if (match == nullptr || text.size() < match->length) return 0;
  if (!InRange(static_cast<unsigned char>(text[1]), match->second_low, match->second_high)) {
    return 0;
  }
  for (std::size_t i = 2; i < match->length; ++i) {
    if (!InRange(static_cast<unsigned char>(text[i]), 0x80, 0xBF)) return 0;
  }
  return match->length;
}

bool IsControlCharacter(std::string_view character) {
  if (character.size() == 1) {
    auto byte = static_cast<unsigned char>(character[0]);
    return byte < 0x20 || byte == 0x7F;
  }
  // U+0080..U+009F are encoded C2 80..C2 9F.
  return character.size() == 2 && static_cast<unsigned char>(character[0]) == 0xC2 &&
         static_cast<unsigned char>(character[1]) <= 0x9F;
}

PeerAddress ParsePeer(std::string_view peer) {
  PeerAddress address;
  std::string host;
  std::string_view port;
  if (peer.starts_with('[')) {
    std::size_t close = peer.find("]:");
    if (close == std::string_view::npos) return address;
    host = peer.substr(1, close - 1);
    port = peer.substr(close + 2);
  } else {
    std::size_t colon = peer.rfind(':');
    if (colon == std::string_view::npos) return address;
    host = peer.substr(0, colon);
    port = peer.substr(colon + 1);
  }

  address.ipv4 = CanonicalAddress(AF_INET, host);
  if (address.ipv4.empty()) {
    address.ipv6 = CanonicalAddress(AF_INET6, host);
    constexpr std::string_view kMappedPrefix = "::ffff:";
    if (address.ipv6.starts_with(kMappedPrefix)) {
      std::string tail = address.ipv6.substr(kMappedPrefix.size());
      address.ipv4 = CanonicalAddress(AF_INET, tail);
      if (!address.ipv4.empty()) address.ipv6.clear();
    }
  }
  if (!address.ipv4.empty() || !address.ipv6.empty()) address.port = ParsePort(port);
  return address;
}

int SeverityOf(const AuditEntry& entry) {
  if (entry.decision == "deny") return 7;
  if (entry.outcome == "failure") return 5;
  return 3;
}

std::string EventNameOf(const AuditEntry& entry) {
  if (entry.decision == "deny") return entry.action + " denied";
  if (entry.outcome == "failure") return entry.action + " failed";
  return entry.action + " succeeded";
}

std::string CategoryOf(const AuditEntry& entry) {
  return entry.action.substr(0, entry.action.find('.'));
}

}  // namespace weftkit::audit::formats
