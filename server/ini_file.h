// A strict parser for the INI dialect of kmsd's configuration file.
//
// The dialect, in full:
//
//   # a comment line (';' works too)
//   [section]                 names are lower-case letters, digits and '_'
//   key = value               the value runs to the end of the line or to an inline comment,
//                             which starts with '#' or ';' after whitespace
//   key = "quoted value"      keeps spaces, '#' and ';'; only \" and \\ are escapes
//
// Anything else is an error that names the line: a setting before the first section, a key
// without '=', an empty value, a control character other than tab, an unterminated quote, a
// section that appears twice, or a key set twice in one section. There is no interpolation, no
// include and no continuation line, so what an operator reads is what the server gets.
//
// Which sections and keys exist is not this parser's business; LoadConfig (server/config.h)
// refuses unknown ones.
//
// Thread-safe: ParseIni is a pure function.
#pragma once

#include <map>
#include <string>
#include <string_view>

#include "common/error.h"

namespace weftkit::server {

// One `key = value` line: the value with quotes removed and escapes applied, and its line number
// (1-based), so that later checks can point at it.
struct IniEntry {
  std::string value;
  int line = 0;
};

// One `[section]` and its keys.
struct IniSection {
  int line = 0;  // the line of the `[section]` header
  std::map<std::string, IniEntry, std::less<>> entries;
};

// A parsed file: sections by name.
struct IniDocument {
  std::map<std::string, IniSection, std::less<>> sections;
};

// Parses `text`. `source_name` (usually the file's path) prefixes error details, in the form
// "<source_name>:<line>: <what is wrong>". Fails with code "config_syntax" on malformed lines
// and "config_duplicate_setting" on a section or key that appears twice; both are
// kInvalidArgument.
Result<IniDocument> ParseIni(std::string_view text, std::string_view source_name);

}  // namespace weftkit::server
