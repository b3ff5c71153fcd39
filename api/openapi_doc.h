// The OpenAPI 3.1 document of Keel's HTTP API (api/docs/openapi.json, embedded at build time).
#pragma once

#include <string_view>

namespace keel {

std::string_view OpenApiDocument();

}  // namespace keel
