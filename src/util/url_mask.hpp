#pragma once

#include <string>
#include <string_view>

namespace realtime {

// `url` as logs and error messages may show it: the password of its userinfo
// (scheme://user:PASSWORD@host) and the value of each `password` query parameter (its name
// percent-decoded, as libpq and Boost.URL read it) become ****. Where parsers read a URL
// differently (a '?' or '@' inside a password), every reading's password is masked. Works on
// text that is not a valid URL too.
std::string mask_url_password(std::string_view url);

}  // namespace realtime
