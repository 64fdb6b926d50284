// Routes for DEK operations, each in a single and a batch form (see docs/api.md):
//   POST /v1/keys/{name}/{op}          one item in the body
//   POST /v1/keys/{name}/batch/{op}    {"items": [...]}, one result per item, in order
// where op is generate-data-key, generate-data-key-without-plaintext, wrap, unwrap or rewrap.
// A bad item in a batch fails alone: the batch answers 200 with an error in that item's place.
// Plaintext DEKs appear only in the responses of generate-data-key and unwrap, to the caller
// that asked, and the response body is wiped after it is sent.
#pragma once

#include <cstddef>

#include "api/authorizer.h"
#include "kms/key_service.h"
#include "server/metrics.h"
#include "server/rate_limits.h"
#include "server/router.h"

namespace weftkit::api {

// Also registers kms_dek_operations_total{operation,outcome} in `metrics`, counted per item;
// the outcome is "ok" or the error code. With `limits` (may be null; must outlive the router),
// unwrap requests are admitted per DEK they carry, after authorization and before any is
// unwrapped: a refused request answers 429 "rate_limited" with Retry-After and unwraps nothing.
void RegisterDekRoutes(server::Router& router, kms::KeyService& keys, Authorizer authorize,
                       server::Metrics& metrics, std::size_t max_batch_items,
                       server::RateLimits* limits = nullptr);

}  // namespace weftkit::api
