// Hsm: the server's one connection to its PKCS#11 token, and every key operation it performs.
//
// Master key versions are AES-256 token objects that never leave the token (DESIGN.md §1);
// DEKs are wrapped with AES-256-GCM inside it (§2); EC P-256 key pairs sign tokens, policy
// bundles and audit checkpoints. Objects are named by CKA_LABEL. Their handles are found once
// and cached, because SoftHSM's C_FindObjects walks every object on the token.
//
// Each operation borrows one session from a bounded pool (config.sessions, one per worker) and
// fails with kUnavailable "hsm_busy" if none frees up within config.acquire_timeout. When the
// module reports that the session, login, token or device is gone (or an object is not found
// and the token no longer answers, as SoftHSM does when its token files vanish), the operation
// marks the Hsm not ready, reconnects once (re-initialise Cryptoki, find the token again, log in,
// reopen the sessions) and retries once; if that fails too it returns kUnavailable
// "hsm_unavailable" whose detail names the PKCS#11 return code.
//
// Errors carry PKCS#11 return-code names and labels, never PINs, key bytes or plaintext. This
// layer does not log; callers do.
//
// Thread safety: every member function is thread-safe. Create one Hsm per process and module:
// PKCS#11 initialisation is process-wide.
#pragma once

#include <p11-kit/pkcs11.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <shared_mutex>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "common/error.h"
#include "common/secret_bytes.h"
#include "pkcs11/module.h"
#include "pkcs11/session_pool.h"
#include "pkcs11/token_selector.h"

namespace weftkit::pkcs11 {

struct HsmConfig {
  std::string module_path;  // the PKCS#11 library, loaded with dlopen
  // The token: by label, by RFC 7512 URI ("pkcs11:token=...;serial=..."), or both (they must
  // agree). At least one must name something.
  std::string token_label;
  std::string token_uri;
  SecretBytes pin;           // the user PIN; kept for logging in again after a reconnect
  std::size_t sessions = 4;  // pool size; the server sizes it to its PKCS#11 worker count
  std::chrono::milliseconds acquire_timeout{2000};
  // Reconnect attempts closer together than this return the previous attempt's outcome, so a
  // burst of failing requests cannot hammer a device that is away.
  std::chrono::milliseconds reconnect_interval{250};
};

class Hsm {
 public:
  // The attributes of an AES key object as the token reports them.
  struct AesKeyAttributes {
    bool sensitive = false;
    bool extractable = true;
    bool always_sensitive = false;
    bool never_extractable = false;
    bool modifiable = true;
    bool private_ = false;
    bool token = false;
    bool encrypt = false;
    bool decrypt = false;
    bool wrap = false;
    bool unwrap = false;
    bool sign = false;
    bool verify = false;
    bool derive = false;
    unsigned long value_len = 0;
  };

  // Loads the module, initialises Cryptoki (CKF_OS_LOCKING_OK), finds the configured token,
  // opens config.sessions read-write sessions and logs in as CKU_USER once. Fails with
  // kInvalidArgument for a bad configuration, kNotFound "hsm_token_not_found",
  // kFailedPrecondition "hsm_login_failed" for a wrong or locked PIN, or the module's error.
  static Result<std::unique_ptr<Hsm>> Open(HsmConfig config);

  Hsm(const Hsm&) = delete;
  Hsm& operator=(const Hsm&) = delete;
  // Closes the sessions, logs out, finalises Cryptoki and unloads the module. No operation
  // may be running.
  ~Hsm();

  // False from the moment an operation saw the device go away until a reconnect succeeds.
  bool ready() const { return ready_.load(); }

  // A cheap liveness check for /readyz: C_GetTokenInfo on the token's slot. If that fails in
  // any way (or the device was already known to be gone), tries Reconnect(). OK means
  // operations can proceed.
  Status Probe();

  // Re-initialises Cryptoki, finds the token again, logs in and reopens every session; drops
  // the handle cache. Waits for running operations to return their sessions first. Calls are
  // serialised, and attempts within config.reconnect_interval of the previous one return its
  // outcome. Fails with kUnavailable "hsm_unavailable".
  Status Reconnect();

  // "token=<label>;serial=<serial>" of the token in use, for logs.
  std::string token_description() const;

  // ---- AES-256 master key versions ----

  // Generates an AES-256 token object labelled `label` with exactly the DESIGN.md template
  // (sensitive, never extractable, private, not modifiable, encrypt/decrypt only), then reads
  // the attributes back and destroys the object again if any differs (kInternal
  // "hsm_key_template_mismatch"). Fails with kAlreadyExists "hsm_label_exists" if any object
  // already carries the label.
  Status CreateAesKey(const std::string& label);

  // The attributes of the AES key `label`; kNotFound "hsm_key_not_found" if there is none.
  Result<AesKeyAttributes> ReadAesKeyAttributes(const std::string& label);

  // AES-256-GCM encryption in the token with a 96-bit `iv` and a 128-bit tag; returns
  // ciphertext || tag. `aad` must not be empty (SoftHSM 2.6 crashes on empty GCM AAD) and `iv`
  // must be 12 bytes: otherwise kInternal "invalid_gcm_input" before the module is called.
  Result<std::vector<std::uint8_t>> EncryptGcm(const std::string& label,
                                               std::span<const std::uint8_t> iv,
                                               std::span<const std::uint8_t> aad,
                                               std::span<const std::uint8_t> plaintext);

  // The inverse of EncryptGcm. A tag that does not verify (wrong key, IV, AAD or tampered
  // bytes) fails with kDataLoss "decrypt_failed"; SoftHSM reports it as CKR_GENERAL_ERROR.
  Result<SecretBytes> DecryptGcm(const std::string& label, std::span<const std::uint8_t> iv,
                                 std::span<const std::uint8_t> aad,
                                 std::span<const std::uint8_t> ciphertext_and_tag);

  // ---- Any labelled object ----

  // Destroys every object labelled `label` (an AES key, or both halves of an EC key pair).
  // kNotFound "hsm_key_not_found" if there is none.
  Status DestroyObjects(const std::string& label);

  // Whether any object carries `label`. A failed look-up (e.g. the HSM is away) counts as
  // false; callers that must tell the two apart use an operation's error instead.
  bool ObjectExists(const std::string& label);

  // ---- EC P-256 signing keys ----

  // Generates a P-256 key pair labelled `label`: the private key is a sensitive,
  // non-extractable, private token object that can only sign; the public key is a token
  // object that can only verify. kAlreadyExists "hsm_label_exists" if the label is taken.
  Status CreateEcSigningKey(const std::string& label);

  // ECDSA over SHA-256(message): the digest is computed here, the signature (CKM_ECDSA) in the
  // token. Returns r || s, 64 bytes, as JOSE's ES256 wants it.
  Result<std::vector<std::uint8_t>> SignEcdsaSha256(const std::string& label,
                                                    std::span<const std::uint8_t> message);

  // The DER SubjectPublicKeyInfo of the key pair `label`.
  Result<std::vector<std::uint8_t>> EcPublicKeyDer(const std::string& label);

  // ---- Other ----

  // `bytes` random bytes from the token's generator.
  Result<SecretBytes> GenerateRandom(std::size_t bytes);

  // Initialises a token labelled `label` for tools and tests: picks the slot whose token has
  // that label (re-initialising it, which needs its SO PIN) or else the first uninitialised
  // one, runs C_InitToken, logs in as SO and sets the user PIN. Loads and unloads the module
  // itself; must not run while an Hsm is open on the same module.
  static Status InitToken(const std::string& module_path, const std::string& label,
                          const SecretBytes& so_pin, const SecretBytes& user_pin);

 private:
  // One borrowed session plus the module's function table.
  struct Call {
    CK_FUNCTION_LIST_PTR functions;
    CK_SESSION_HANDLE session;
  };
  using Operation = std::function<Status(const Call&)>;
  using HandleKey = std::pair<std::string, CK_OBJECT_CLASS>;

  Hsm(HsmConfig config, TokenSelector selector, std::unique_ptr<Module> module);

  // Finds the slot, opens the sessions, logs in and opens the pool.
  Status Connect();
  // Closes the pool's sessions (pool drained by the caller) and logs out.
  void CloseSessions(std::vector<CK_SESSION_HANDLE> sessions);
  Status ReconnectLocked(std::chrono::steady_clock::time_point now);
  // Reconnects unless the pool generation moved past `failed_generation` (someone else did).
  Status ReconnectAfterFailure(std::uint64_t failed_generation);

  // Runs `operation` on a borrowed session, with one reconnect-and-retry on connection loss.
  Status Run(const Operation& operation);
  // Whether `status` (an operation's failure) means the token is gone: the connection was lost,
  // or an object was not found and the token no longer answers C_GetTokenInfo.
  bool TokenLost(const Status& status);
  // C_GetTokenInfo on the token's slot succeeds. Requires reconnect_mutex_.
  bool TokenAnswersLocked();

  // The handle of the object (`label`, `object_class`), from the cache or one look-up.
  Result<CK_OBJECT_HANDLE> FindHandle(const Call& call, const std::string& label,
                                      CK_OBJECT_CLASS object_class);
  void ForgetHandle(const std::string& label, CK_OBJECT_CLASS object_class);
  void ForgetLabel(const std::string& label);
  // Runs `use` with the object's handle; if the handle went stale, looks it up once more.
  Status WithHandle(const Call& call, const std::string& label, CK_OBJECT_CLASS object_class,
                    const std::function<Status(CK_OBJECT_HANDLE)>& use);
  // kAlreadyExists if any object carries `label`.
  Status CheckLabelFree(const Call& call, const std::string& label);

  Result<AesKeyAttributes> ReadAesAttributes(const Call& call, CK_OBJECT_HANDLE key);
  Status VerifyNewAesKey(const Call& call, CK_OBJECT_HANDLE key);

  HsmConfig config_;
  const TokenSelector selector_;
  std::unique_ptr<Module> module_;
  SessionPool pool_;
  std::atomic<bool> ready_{false};
  std::atomic<CK_SLOT_ID> slot_{0};

  // Serialises Connect/Reconnect/Probe: nothing else calls the module outside a lease.
  std::mutex reconnect_mutex_;
  std::chrono::steady_clock::time_point last_reconnect_{};
  Status last_reconnect_status_;

  mutable std::mutex description_mutex_;
  std::string token_description_;  // guarded by description_mutex_

  // Serialises key creation in this process so that "label free?" and "create" are atomic.
  std::mutex create_mutex_;

  mutable std::shared_mutex handles_mutex_;
  std::map<HandleKey, CK_OBJECT_HANDLE> handles_;
};

}  // namespace weftkit::pkcs11
