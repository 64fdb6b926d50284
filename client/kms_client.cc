#include "client/kms_client.h"

#include <openssl/crypto.h>

#include <charconv>
#include <thread>

#include "client/scram_client.h"
#include "common/base64.h"

namespace weftkit::client {
namespace {

using nlohmann::json;

Error BadResponse(const std::string& detail) {
  return Error(ErrorKind::kInternal, std::string(kBadResponse), detail);
}

bool IsSuccess(int status) { return status >= 200 && status < 300; }

// Parses a JSON body and wipes the text it came from (it may hold a DEK or a token).
Result<json> ParseAndWipe(std::string& body) {
  json parsed = body.empty() ? json(nullptr) : json::parse(body, nullptr, false);
  OPENSSL_cleanse(body.data(), body.size());
  if (parsed.is_discarded()) return BadResponse("the response is not JSON");
  return parsed;
}

// Takes a base64 secret out of `object[field]`, wiping the JSON copy.
Result<SecretBytes> TakeSecret(json& object, const char* field) {
  if (!object.is_object() || !object.contains(field) || !object[field].is_string()) {
    return BadResponse(std::string("the response has no ") + field);
  }
  std::string& text = object[field].get_ref<std::string&>();
  Result<SecretBytes> secret = Base64DecodeSecret(text);
  OPENSSL_cleanse(text.data(), text.size());
  if (!secret.ok()) return BadResponse(std::string("the response's ") + field + " is not base64");
  return secret;
}

// Takes a text secret (a token) out of `object[field]`, wiping the JSON copy.
Result<SecretBytes> TakeSecretText(json& object, const char* field) {
  if (!object.is_object() || !object.contains(field) || !object[field].is_string()) {
    return BadResponse(std::string("the response has no ") + field);
  }
  std::string& text = object[field].get_ref<std::string&>();
  SecretBytes secret = SecretBytes::CopyOf(std::string_view(text));
  OPENSSL_cleanse(text.data(), text.size());
  return secret;
}

Result<WrappedKey> ToWrappedKey(const json& object) {
  if (!object.is_object() || !object.contains("wrapped") || !object["wrapped"].is_string() ||
      !object.contains("key_version") || !object["key_version"].is_number_unsigned()) {
    return BadResponse("the response has no envelope");
  }
  return WrappedKey{object.value("key", ""), object["key_version"].get<std::uint32_t>(),
                    object["wrapped"].get<std::string>()};
}

json ContextJson(const EncryptionContext& context) {
  json out = json::object();
  for (const auto& [name, value] : context) out[name] = value;
  return out;
}

json ItemBody(const EnvelopeItem& item) {
  return {{"wrapped", item.wrapped}, {"context", ContextJson(item.context)}};
}

// "name=value, name2=value2" (after an optional leading scheme token) -> map.
std::map<std::string, std::string> AuthParams(std::string_view header) {
  std::map<std::string, std::string> params;
  std::size_t space = header.find(' ');
  std::size_t first_eq = header.find('=');
  if (space != std::string_view::npos && space < first_eq) header.remove_prefix(space + 1);
  while (!header.empty()) {
    std::size_t comma = header.find(',');
    std::string_view part = header.substr(0, comma);
    while (!part.empty() && part.front() == ' ') part.remove_prefix(1);
    std::size_t eq = part.find('=');
    if (eq != std::string_view::npos) {
      params.emplace(std::string(part.substr(0, eq)), std::string(part.substr(eq + 1)));
    }
    header = comma == std::string_view::npos ? "" : header.substr(comma + 1);
  }
  return params;
}

Result<std::string> DecodeData(const std::string& base64) {
  WK_ASSIGN_OR_RETURN(std::vector<std::uint8_t> bytes, Base64Decode(base64));
  return std::string(bytes.begin(), bytes.end());
}

}  // namespace

Error ErrorFromResponse(const HttpResponse& response) {
  json body = json::parse(response.body, nullptr, false);
  std::string code = body.is_object() && body.contains("code") && body["code"].is_string()
                         ? body["code"].get<std::string>()
                         : "http_" + std::to_string(response.status);
  return Error(KindForStatus(response.status), code,
               "HTTP " + std::to_string(response.status) + ", request id " +
                   response.Header("x-request-id"));
}

Status SetServerUrl(KmsClientOptions& options, std::string_view url) {
  Error bad(ErrorKind::kInvalidArgument, std::string(kInvalidOption),
            "server URL: expected https://host[:port]");
  if (!url.starts_with("https://")) return bad;
  url.remove_prefix(8);
  if (!url.empty() && url.back() == '/') url.remove_suffix(1);
  if (url.empty() || url.find('/') != std::string_view::npos) return bad;
  std::size_t colon = url.rfind(':');
  bool bracketed = url.front() == '[';
  if (colon == std::string_view::npos || (bracketed && url[colon - 1] != ']')) {
    options.host = std::string(bracketed ? url.substr(1, url.size() - 2) : url);
    options.port = 8443;
    return OkStatus();
  }
  std::string_view port_text = url.substr(colon + 1);
  unsigned port = 0;
  auto [end, ec] = std::from_chars(port_text.data(), port_text.data() + port_text.size(), port);
  if (ec != std::errc() || end != port_text.data() + port_text.size() || port == 0 ||
      port > 65535 || colon == 0) {
    return bad;
  }
  std::string_view host = url.substr(0, colon);
  if (bracketed) host = host.substr(1, host.size() - 2);
  options.host = std::string(host);
  options.port = static_cast<std::uint16_t>(port);
  return OkStatus();
}

std::string PercentEncode(std::string_view segment) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : segment) {
    if (std::isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~') {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 15];
    }
  }
  return out;
}

Result<std::unique_ptr<KmsClient>> KmsClient::Create(KmsClientOptions options) {
  Error bad(ErrorKind::kInvalidArgument, std::string(kInvalidOption), "");
  if (options.host.empty()) return Error(bad.kind(), bad.code(), "host is empty");
  if (options.retry.max_attempts < 1) {
    return Error(bad.kind(), bad.code(), "retry.max_attempts must be at least 1");
  }
  if (options.io_timeout.count() <= 0) {
    return Error(bad.kind(), bad.code(), "io_timeout must be positive");
  }
  WK_ASSIGN_OR_RETURN(std::unique_ptr<TlsClientContext> context, TlsClientContext::Create(options));
  return std::unique_ptr<KmsClient>(new KmsClient(std::move(options), std::move(context)));
}

KmsClient::KmsClient(KmsClientOptions options, std::shared_ptr<const TlsClientContext> context)
    : options_(std::move(options)),
      context_(std::move(context)),
      pool_(context_, options_.host, options_.port, options_.max_idle_connections,
            options_.io_timeout),
      cache_(options_.cache, options_.clock) {}

KmsClient::~KmsClient() = default;

void KmsClient::SetBearerToken(SecretBytes token) {
  std::lock_guard<std::mutex> lock(token_mutex_);
  bearer_token_ = std::move(token);
}

void KmsClient::AddAuthorization(HttpRequest& request) const {
  std::lock_guard<std::mutex> lock(token_mutex_);
  if (bearer_token_.empty()) return;
  std::string value = "Bearer ";
  value.append(bearer_token_.expose_chars());
  request.headers.emplace_back("Authorization", std::move(value));
}

void KmsClient::Sleep(std::chrono::milliseconds delay) const {
  if (options_.sleep) {
    options_.sleep(delay);
  } else {
    std::this_thread::sleep_for(delay);
  }
}

Result<HttpResponse> KmsClient::SendOnce(const HttpRequest& request) {
  attempts_.fetch_add(1);
  WK_ASSIGN_OR_RETURN(std::unique_ptr<TlsConnection> connection, pool_.Acquire());
  Result<HttpResponse> response = connection->RoundTrip(request);
  pool_.Release(std::move(connection));
  return response;
}

Result<std::unique_ptr<TlsConnection>> KmsClient::OpenDedicatedConnection() {
  return TlsConnection::Connect(*context_, options_.host, options_.port, options_.io_timeout);
}

Result<HttpResponse> KmsClient::SendOn(TlsConnection& connection, HttpRequest request) {
  AddAuthorization(request);
  attempts_.fetch_add(1);
  Result<HttpResponse> response = connection.RoundTrip(request);
  for (auto& [name, value] : request.headers) OPENSSL_cleanse(value.data(), value.size());
  return response;
}

Result<HttpResponse> KmsClient::Send(HttpRequest request, Retry retry) {
  AddAuthorization(request);
  Backoff backoff(options_.retry);
  auto start = std::chrono::steady_clock::now();
  for (int attempt = 1;; ++attempt) {
    Result<HttpResponse> response = SendOnce(request);
    bool transient = response.ok() ? response->status == 503 : IsTransient(response.error());
    bool out_of_time = std::chrono::steady_clock::now() - start >= options_.retry.max_elapsed;
    if (!transient || retry == Retry::kNever || attempt >= options_.retry.max_attempts ||
        out_of_time) {
      for (auto& [name, value] : request.headers) OPENSSL_cleanse(value.data(), value.size());
      OPENSSL_cleanse(request.body.data(), request.body.size());
      return response;
    }
    std::optional<std::chrono::seconds> retry_after;
    if (response.ok()) retry_after = ParseRetryAfter(response->Header("retry-after"));
    Sleep(backoff.DelayBefore(attempt, retry_after));
    retries_.fetch_add(1);
  }
}

Result<CallResult> KmsClient::Call(const std::string& method, const std::string& path,
                                   const json& body, Retry retry) {
  HttpRequest request{method, path, {{"Content-Type", "application/json"}}, ""};
  if (!body.is_null()) request.body = body.dump();
  WK_ASSIGN_OR_RETURN(HttpResponse response, Send(std::move(request), retry));
  if (!IsSuccess(response.status)) return ErrorFromResponse(response);
  WK_ASSIGN_OR_RETURN(json parsed, ParseAndWipe(response.body));
  return CallResult{response.status, std::move(parsed)};
}

Result<HttpResponse> KmsClient::CallRaw(const std::string& method, const std::string& path,
                                        const json& body, Retry retry) {
  HttpRequest request{method, path, {{"Content-Type", "application/json"}}, ""};
  if (!body.is_null()) request.body = body.dump();
  WK_ASSIGN_OR_RETURN(HttpResponse response, Send(std::move(request), retry));
  if (!IsSuccess(response.status)) return ErrorFromResponse(response);
  return response;
}

Result<LoginResult> KmsClient::LoginWithPassword(const std::string& user, SecretBytes password) {
  // Both steps must travel on one connection: the exchange is bound to its TLS exporter.
  WK_ASSIGN_OR_RETURN(std::unique_ptr<TlsConnection> connection, pool_.Acquire());
  WK_ASSIGN_OR_RETURN(SecretBytes exporter, connection->TlsExporter());
  WK_ASSIGN_OR_RETURN(ScramClient scram,
                      ScramClient::Start(user, std::move(password), std::move(exporter)));
  std::string mechanism(scram.mechanism());

  HttpRequest first{"POST", "/v1/auth/scram", {}, ""};
  first.headers.emplace_back("Authorization",
                             mechanism + " data=" + Base64Encode(AsBytes(scram.ClientFirst())));
  attempts_.fetch_add(1);
  WK_ASSIGN_OR_RETURN(HttpResponse challenge, connection->RoundTrip(first));
  auto params = AuthParams(challenge.Header("www-authenticate"));
  if (challenge.status != 401 || params["sid"].empty() || params["data"].empty()) {
    return challenge.status == 401 || !IsSuccess(challenge.status)
               ? ErrorFromResponse(challenge)
               : BadResponse("step 1 of the SCRAM login got no challenge");
  }
  WK_ASSIGN_OR_RETURN(std::string server_first, DecodeData(params["data"]));
  WK_ASSIGN_OR_RETURN(std::string client_final, scram.ClientFinal(server_first));

  HttpRequest second{"POST", "/v1/auth/scram", {}, ""};
  second.headers.emplace_back("Authorization", mechanism + " sid=" + params["sid"] +
                                                   ", data=" + Base64Encode(AsBytes(client_final)));
  attempts_.fetch_add(1);
  WK_ASSIGN_OR_RETURN(HttpResponse answer, connection->RoundTrip(second));
  pool_.Release(std::move(connection));
  if (answer.status != 200) return ErrorFromResponse(answer);
  WK_ASSIGN_OR_RETURN(std::string server_final,
                      DecodeData(AuthParams(answer.Header("authentication-info"))["data"]));
  WK_RETURN_IF_ERROR(scram.VerifyServerFinal(server_final));

  WK_ASSIGN_OR_RETURN(json body, ParseAndWipe(answer.body));
  WK_ASSIGN_OR_RETURN(SecretBytes token, TakeSecretText(body, "access_token"));
  LoginResult result{body.value("must_change_password", false), body.value("expires_in", 0),
                     token.Clone()};
  SetBearerToken(std::move(token));
  return result;
}

Result<DataKey> KmsClient::GenerateDataKey(const std::string& key, const EncryptionContext& context,
                                           int bytes) {
  json body = {{"bytes", bytes}, {"context", ContextJson(context)}};
  WK_ASSIGN_OR_RETURN(CallResult result,
                      Call("POST", "/v1/keys/" + PercentEncode(key) + "/generate-data-key", body,
                           Retry::kSafeToRepeat));
  WK_ASSIGN_OR_RETURN(SecretBytes plaintext, TakeSecret(result.body, "plaintext"));
  WK_ASSIGN_OR_RETURN(WrappedKey wrapped, ToWrappedKey(result.body));
  return DataKey{wrapped.key, wrapped.key_version, std::move(plaintext), wrapped.wrapped};
}

Result<WrappedKey> KmsClient::GenerateDataKeyWithoutPlaintext(const std::string& key,
                                                              const EncryptionContext& context,
                                                              int bytes) {
  json body = {{"bytes", bytes}, {"context", ContextJson(context)}};
  WK_ASSIGN_OR_RETURN(
      CallResult result,
      Call("POST", "/v1/keys/" + PercentEncode(key) + "/generate-data-key-without-plaintext", body,
           Retry::kSafeToRepeat));
  return ToWrappedKey(result.body);
}

Result<WrappedKey> KmsClient::Wrap(const std::string& key, const SecretBytes& dek,
                                   const EncryptionContext& context) {
  json body = {{"plaintext", Base64Encode(dek.expose())}, {"context", ContextJson(context)}};
  Result<CallResult> result =
      Call("POST", "/v1/keys/" + PercentEncode(key) + "/wrap", body, Retry::kSafeToRepeat);
  std::string& text = body["plaintext"].get_ref<std::string&>();
  OPENSSL_cleanse(text.data(), text.size());
  if (!result.ok()) return result.error();
  return ToWrappedKey(result->body);
}

Result<SecretBytes> KmsClient::Unwrap(const std::string& key, const std::string& wrapped,
                                      const EncryptionContext& context) {
  DekCache::CacheKey cache_key = DekCache::KeyOf(wrapped, context);
  if (std::optional<SecretBytes> cached = cache_.Get(cache_key)) {
    cache_hits_.fetch_add(1);
    return std::move(*cached);
  }
  WK_ASSIGN_OR_RETURN(CallResult result, Call("POST", "/v1/keys/" + PercentEncode(key) + "/unwrap",
                                              ItemBody({wrapped, context}), Retry::kIdempotent));
  WK_ASSIGN_OR_RETURN(SecretBytes plaintext, TakeSecret(result.body, "plaintext"));
  cache_.Put(cache_key, plaintext);
  return plaintext;
}

Result<WrappedKey> KmsClient::Rewrap(const std::string& key, const std::string& wrapped,
                                     const EncryptionContext& context) {
  WK_ASSIGN_OR_RETURN(CallResult result, Call("POST", "/v1/keys/" + PercentEncode(key) + "/rewrap",
                                              ItemBody({wrapped, context}), Retry::kIdempotent));
  return ToWrappedKey(result.body);
}

Status KmsClient::RunBatch(const std::string& key, const std::string& op,
                           const std::vector<json>& bodies, std::size_t batch_size,
                           std::vector<std::optional<Result<json>>>& out) {
  std::string path = "/v1/keys/" + PercentEncode(key) + "/batch/" + op;
  Backoff backoff(options_.retry);
  batch_size = std::clamp<std::size_t>(batch_size, 1, 1000);
  for (int round = 1;; ++round) {
    std::vector<std::size_t> pending;  // unanswered items, and items that answered 503
    for (std::size_t i = 0; i < bodies.size(); ++i) {
      if (!out[i].has_value() ||
          (!out[i]->ok() && out[i]->error().kind() == ErrorKind::kUnavailable)) {
        pending.push_back(i);
      }
    }
    if (pending.empty() || round > options_.retry.max_attempts) return OkStatus();
    if (round > 1) Sleep(backoff.DelayBefore(round - 1, std::nullopt));
    for (std::size_t start = 0; start < pending.size(); start += batch_size) {
      std::size_t end = std::min(pending.size(), start + batch_size);
      json items = json::array();
      for (std::size_t i = start; i < end; ++i) items.push_back(bodies[pending[i]]);
      WK_ASSIGN_OR_RETURN(CallResult result,
                          Call("POST", path, {{"items", std::move(items)}}, Retry::kIdempotent));
      json& results = result.body["results"];
      if (!results.is_array() || results.size() != end - start) {
        return BadResponse("the batch answer does not have one result per item");
      }
      for (std::size_t i = start; i < end; ++i) {
        json& item = results[i - start];
        if (item.value("ok", false)) {
          out[pending[i]] = std::move(item);
          continue;
        }
        const json& error = item.contains("error") ? item["error"] : json::object();
        int status = error.value("status", 500);
        out[pending[i]] = Error(KindForStatus(status), error.value("code", "http_500"),
                                "batch item, HTTP " + std::to_string(status));
      }
    }
  }
}

Result<std::vector<Result<SecretBytes>>> KmsClient::BatchUnwrap(
    const std::string& key, const std::vector<EnvelopeItem>& items, std::size_t batch_size) {
  std::vector<std::optional<SecretBytes>> cached(items.size());
  std::vector<json> bodies;
  std::vector<std::size_t> sent;  // index in `items` of each body
  for (std::size_t i = 0; i < items.size(); ++i) {
    cached[i] = cache_.Get(DekCache::KeyOf(items[i].wrapped, items[i].context));
    if (cached[i].has_value()) {
      cache_hits_.fetch_add(1);
    } else {
      bodies.push_back(ItemBody(items[i]));
      sent.push_back(i);
    }
  }
  std::vector<std::optional<Result<json>>> answers(bodies.size());
  WK_RETURN_IF_ERROR(RunBatch(key, "unwrap", bodies, batch_size, answers));

  std::vector<Result<SecretBytes>> out;
  out.reserve(items.size());
  for (std::size_t i = 0; i < items.size(); ++i) {
    if (cached[i].has_value())
      out.emplace_back(std::move(*cached[i]));
    else
      out.emplace_back(Error(ErrorKind::kInternal, "client_unanswered", "no answer"));
  }
  for (std::size_t j = 0; j < sent.size(); ++j) {
    Result<json>& answer = *answers[j];
    if (!answer.ok()) {
      out[sent[j]] = answer.error();
      continue;
    }
    Result<SecretBytes> plaintext = TakeSecret(answer.value(), "plaintext");
    if (plaintext.ok()) {
      cache_.Put(DekCache::KeyOf(items[sent[j]].wrapped, items[sent[j]].context), *plaintext);
    }
    out[sent[j]] = std::move(plaintext);
  }
  return out;
}

Result<std::vector<Result<WrappedKey>>> KmsClient::BatchRewrap(
    const std::string& key, const std::vector<EnvelopeItem>& items, std::size_t batch_size) {
  std::vector<json> bodies;
  for (const EnvelopeItem& item : items) bodies.push_back(ItemBody(item));
  std::vector<std::optional<Result<json>>> answers(items.size());
  WK_RETURN_IF_ERROR(RunBatch(key, "rewrap", bodies, batch_size, answers));
  std::vector<Result<WrappedKey>> out;
  out.reserve(items.size());
  for (auto& answer : answers) {
    if (answer->ok()) {
      out.push_back(ToWrappedKey(answer->value()));
    } else {
      out.push_back(answer->error());
    }
  }
  return out;
}

ClientStats KmsClient::stats() const {
  return ClientStats{pool_.connections_opened(), attempts_.load(), retries_.load(),
                     cache_hits_.load()};
}

}  // namespace weftkit::client
