#include "client/scram_client.h"

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

#include <charconv>
#include <map>

#include "client/client_error.h"
#include "common/base64.h"

namespace weftkit::client {
namespace {

constexpr int kMinIterations = 4096;
constexpr int kMaxIterations = 10'000'000;

Error ScramError(const std::string& detail) {
  return Error(ErrorKind::kUnauthenticated, "client_scram", detail);
}

SecretBytes Hmac(const SecretBytes& key, std::string_view message) {
  SecretBytes out(32);
  unsigned int length = 0;
  HMAC(EVP_sha256(), key.expose().data(), static_cast<int>(key.size()),
       reinterpret_cast<const unsigned char*>(message.data()), message.size(),
       out.expose_mutable().data(), &length);
  return out;
}

SecretBytes Sha256(const SecretBytes& input) {
  SecretBytes out(32);
  EVP_Digest(input.expose().data(), input.size(), out.expose_mutable().data(), nullptr,
             EVP_sha256(), nullptr);
  return out;
}

// "a=1,b=2" -> {a: 1, b: 2}; attribute values may contain '='.
std::map<char, std::string> Attributes(std::string_view message) {
  std::map<char, std::string> out;
  while (!message.empty()) {
    std::size_t comma = message.find(',');
    std::string_view part = message.substr(0, comma);
    if (part.size() >= 2 && part[1] == '=') out.emplace(part[0], std::string(part.substr(2)));
    message = comma == std::string_view::npos ? "" : message.substr(comma + 1);
  }
  return out;
}

std::string GsHeader(const SecretBytes& channel_binding) {
  return channel_binding.empty() ? "n,," : "p=tls-exporter,,";
}

}  // namespace

Result<ScramClient> ScramClient::Start(std::string user, SecretBytes password,
                                       SecretBytes channel_binding) {
  // The user names kmsd accepts ([A-Za-z0-9._@-]) need no =2C/=3D escaping; refuse the rest.
  if (user.empty() || user.find_first_of(",=") != std::string::npos) {
    return ScramError("the user name cannot be sent in SCRAM");
  }
  std::uint8_t random[18];
  if (RAND_bytes(random, sizeof(random)) != 1) return ScramError("no random nonce");
  ScramClient client;
  client.user_ = std::move(user);
  client.password_ = std::move(password);
  client.channel_binding_ = std::move(channel_binding);
  client.client_nonce_ = Base64Encode(random);
  return client;
}

std::string_view ScramClient::mechanism() const {
  return channel_binding_.empty() ? "SCRAM-SHA-256" : "SCRAM-SHA-256-PLUS";
}

std::string ScramClient::ClientFirst() const {
  return GsHeader(channel_binding_) + "n=" + user_ + ",r=" + client_nonce_;
}

Result<std::string> ScramClient::ClientFinal(std::string_view server_first) {
  std::map<char, std::string> attributes = Attributes(server_first);
  const std::string& nonce = attributes['r'];
  if (!nonce.starts_with(client_nonce_) || nonce.size() == client_nonce_.size()) {
    return ScramError("the server nonce does not extend the client nonce");
  }
  Result<std::vector<std::uint8_t>> salt = Base64Decode(attributes['s']);
  int iterations = 0;
  const std::string& count = attributes['i'];
  auto [end, ec] = std::from_chars(count.data(), count.data() + count.size(), iterations);
  if (!salt.ok() || salt->empty() || ec != std::errc() || end != count.data() + count.size() ||
      iterations < kMinIterations || iterations > kMaxIterations) {
    return ScramError("unacceptable salt or iteration count");
  }

  // SaltedPassword := Hi(password, salt, i), then the keys of RFC 5802 §3.
  SecretBytes salted(32);
  PKCS5_PBKDF2_HMAC(password_.expose_chars().data(), static_cast<int>(password_.size()),
                    salt->data(), static_cast<int>(salt->size()), iterations, EVP_sha256(),
                    static_cast<int>(salted.size()), salted.expose_mutable().data());
  SecretBytes client_key = Hmac(salted, "Client Key");
  SecretBytes stored_key = Sha256(client_key);
  SecretBytes server_key = Hmac(salted, "Server Key");

  std::string cbind = GsHeader(channel_binding_);
  cbind.append(channel_binding_.expose_chars());
  std::string without_proof = "c=" + Base64Encode(AsBytes(cbind)) + ",r=" + nonce;
  OPENSSL_cleanse(cbind.data(), cbind.size());
  std::string client_first_bare = ClientFirst().substr(GsHeader(channel_binding_).size());
  std::string auth_message =
      client_first_bare + "," + std::string(server_first) + "," + without_proof;

  SecretBytes signature = Hmac(stored_key, auth_message);
  SecretBytes proof = client_key.Clone();
  for (std::size_t i = 0; i < proof.size(); ++i) {
    proof.expose_mutable()[i] ^= signature.expose()[i];
  }
  expected_server_signature_ = Hmac(server_key, auth_message);
  return without_proof + ",p=" + Base64Encode(proof.expose());
}

Status ScramClient::VerifyServerFinal(std::string_view server_final) const {
  std::map<char, std::string> attributes = Attributes(server_final);
  Result<std::vector<std::uint8_t>> signature = Base64Decode(attributes['v']);
  if (expected_server_signature_.empty() || !signature.ok() ||
      !ConstantTimeEquals(*signature, expected_server_signature_.expose())) {
    return Error(ErrorKind::kUnauthenticated, std::string(kScramServerSignature),
                 "the server signature does not verify");
  }
  return OkStatus();
}

}  // namespace weftkit::client
