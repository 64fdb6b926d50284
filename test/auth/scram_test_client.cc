#include "test/auth/scram_test_client.h"

#include "auth/scram_credentials.h"
#include "auth/scram_messages.h"
#include "common/base64.h"

namespace weftkit::auth::scram_test {

ScramTestClient::ScramTestClient(std::string user, std::string password, std::string client_nonce,
                                 std::string gs2_header, std::string cbind_data)
    : user_(std::move(user)),
      password_(std::move(password)),
      client_nonce_(std::move(client_nonce)),
      gs2_header_(std::move(gs2_header)),
      cbind_data_(std::move(cbind_data)) {}

std::string ScramTestClient::ClientFirst() const {
  return gs2_header_ + "n=" + EncodeSaslName(user_) + ",r=" + client_nonce_;
}

Result<std::string> ScramTestClient::ClientFinal(std::string_view server_first) {
  WK_ASSIGN_OR_RETURN(ServerFirstMessage first, ParseServerFirst(server_first));
  if (first.nonce.rfind(client_nonce_, 0) != 0 || first.nonce.size() == client_nonce_.size()) {
    return Error(ErrorKind::kInvalidArgument, "test_nonce", "server nonce does not extend ours");
  }
  WK_ASSIGN_OR_RETURN(SecretBytes salted, ScramSaltedPassword(SecretBytes::CopyOf(password_),
                                                              first.salt, first.iterations));
  WK_ASSIGN_OR_RETURN(SecretBytes client_key, HmacSha256(salted.expose(), AsBytes("Client Key")));
  WK_ASSIGN_OR_RETURN(SecretBytes stored_key, Sha256(client_key.expose()));
  WK_ASSIGN_OR_RETURN(SecretBytes server_key, HmacSha256(salted.expose(), AsBytes("Server Key")));

  const std::string without_proof =
      "c=" + Base64Encode(AsBytes(gs2_header_ + cbind_data_)) + ",r=" + first.nonce;
  const std::string first_bare = ClientFirst().substr(gs2_header_.size());
  const std::string auth_message =
      first_bare + "," + std::string(server_first) + "," + without_proof;
  WK_ASSIGN_OR_RETURN(SecretBytes signature,
                      HmacSha256(stored_key.expose(), AsBytes(auth_message)));
  std::vector<std::uint8_t> proof(client_key.expose().begin(), client_key.expose().end());
  for (std::size_t i = 0; i < proof.size(); ++i) proof[i] ^= signature.expose()[i];

  WK_ASSIGN_OR_RETURN(SecretBytes server_signature,
                      HmacSha256(server_key.expose(), AsBytes(auth_message)));
  expected_server_signature_.assign(server_signature.expose().begin(),
                                    server_signature.expose().end());
  return without_proof + ",p=" + Base64Encode(proof);
}

bool ScramTestClient::VerifyServerFinal(std::string_view server_final) const {
  Result<ServerFinalMessage> parsed = ParseServerFinal(server_final);
  return parsed.ok() && parsed->error.empty() && !expected_server_signature_.empty() &&
         parsed->verifier == expected_server_signature_;
}

}  // namespace weftkit::auth::scram_test
