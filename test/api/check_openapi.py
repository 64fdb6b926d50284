#!/usr/bin/env python3
"""Checks that docs/openapi.yaml lists exactly the routes the server registers.

Usage: check_openapi.py SOURCE_DIR

The routes are read from the C++ source of api/*.cc, the way the code builds them:

  router.Add({"GET", "/healthz", RunOn, is_public, handler})       a literal route
  route("POST", "/v1/keys", handler)                                 the helper in key_routes.cc,
                                                                     itself a router.Add call
  route("POST", std::string("/v1/keys/{name}/versions/{version}/") + entry.suffix, ...)
  router.Add({"POST", "/v1/keys/{name}/" + std::string(shared->name), ...})

A path built from a literal plus a struct member (entry.suffix, shared->name) is expanded with
every value of that member in the file's table of that struct (the VersionRoute array, the
DekOperation list of Operations()). A path expression of any other shape fails the check, so a
new way of building routes cannot slip past it unnoticed.

Also checked: operations on public routes (is_public = true) declare `security: []` and the
others do not, so the document says who needs a client certificate.

Exits 0 when the two agree; otherwise prints every difference and exits 1.
"""

import pathlib
import re
import sys

import yaml

HTTP_METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")


class SourceError(Exception):
    """The C++ source has a shape this script does not understand."""


def strip_comments(text):
    """Removes // and /* */ comments, keeping string and character literals intact."""
    out = []
    i = 0
    while i < len(text):
        c = text[i]
        if c in "\"'":
            end = skip_literal(text, i)
            out.append(text[i:end + 1])
            i = end + 1
        elif text.startswith("//", i):
            i = text.find("\n", i)
            if i < 0:
                break
        elif text.startswith("/*", i):
            i = text.index("*/", i) + 2
            out.append(" ")
        else:
            out.append(c)
            i += 1
    return "".join(out)


def skip_literal(text, start):
    """The index of the quote closing the string or character literal opened at `start`."""
    i = start + 1
    while text[i] != text[start]:
        i += 2 if text[i] == "\\" else 1
    return i


def matching_close(text, start):
    """The index of the bracket closing the one at `start`, skipping string literals."""
    pairs = {"(": ")", "{": "}", "[": "]"}
    stack = []
    i = start
    while i < len(text):
        c = text[i]
        if c in "\"'":
            i = skip_literal(text, i)
        elif c in pairs:
            stack.append(pairs[c])
        elif c in ")}]":
            if not stack or stack.pop() != c:
                raise SourceError(f"unbalanced '{c}' at offset {i}")
            if not stack:
                return i
        i += 1
    raise SourceError(f"no closing bracket for offset {start}")


def split_top_level(text):
    """Splits `text` at commas outside brackets and string literals."""
    parts, depth, start, i = [], 0, 0, 0
    while i < len(text):
        c = text[i]
        if c in "\"'":
            i = skip_literal(text, i)
        elif c in "({[":
            depth += 1
        elif c in ")}]":
            depth -= 1
        elif c == "," and depth == 0:
            parts.append(text[start:i].strip())
            start = i + 1
        i += 1
    parts.append(text[start:].strip())
    return parts


STRING = r'"((?:[^"\\]|\\.)*)"'


def literal(expression):
    """The value of a plain string literal, or None."""
    match = re.fullmatch(r"\s*" + STRING + r"\s*", expression)
    return match.group(1) if match else None


def table_values(text, member, where):
    """Every value of `member` in the file's initializer table of the struct declaring it.

    The struct must declare `const char* <member>;` as its first member, and the table must be
    either `Struct name[] = {...}` or `std::vector<Struct> name() { return {...}; }`.
    """
    struct = re.search(r"struct\s+(\w+)\s*\{\s*const char\*\s+" + member + r"\s*;", text)
    if not struct:
        raise SourceError(f"{where}: no struct whose first member is 'const char* {member}'")
    name = struct.group(1)
    table = re.search(r"\b" + name + r"\s+\w+\s*\[\s*\]\s*=\s*\{", text) or re.search(
        r"std::vector<" + name + r">\s+\w+\s*\(\s*\)\s*\{\s*return\s*\{", text)
    if not table:
        raise SourceError(f"{where}: no table of {name} found")
    body_start = table.end() - 1
    body = text[body_start + 1:matching_close(text, body_start)]
    values = []
    for entry in split_top_level(body):
        first = re.match(r"\{\s*" + STRING, entry)
        if entry and not first:
            raise SourceError(f"{where}: a {name} entry does not start with a string: {entry[:60]}")
        if first:
            values.append(first.group(1))
    if not values:
        raise SourceError(f"{where}: the table of {name} is empty")
    return values


def table_pairs(text, first, second, where):
    """(first, second) string pairs of the table of the struct that starts with those members."""
    struct = re.search(r"struct\s+(\w+)\s*\{\s*const char\*\s+" + first +
                       r"\s*;\s*const char\*\s+" + second + r"\s*;", text)
    if not struct:
        raise SourceError(f"{where}: no struct starting 'const char* {first}; const char* {second};'")
    name = struct.group(1)
    table = re.search(r"\b" + name + r"\s+\w+\s*\[\s*\]\s*=\s*\{", text)
    if not table:
        raise SourceError(f"{where}: no table of {name} found")
    body_start = table.end() - 1
    body = text[body_start + 1:matching_close(text, body_start)]
    pairs = []
    for entry in split_top_level(body):
        found = re.match(r"\{\s*" + STRING + r"\s*,\s*" + STRING, entry)
        if entry and not found:
            raise SourceError(f"{where}: a {name} entry does not start with two strings")
        if found:
            pairs.append((found.group(1), found.group(2)))
    return pairs


def path_values(expression, text, where):
    """All paths a C++ path expression stands for."""
    results = [""]
    for term in (t.strip() for t in re.split(r"\+(?=(?:[^\"]*\"[^\"]*\")*[^\"]*$)", expression)):
        wrapped = re.fullmatch(r"std::string\((.*)\)", term, re.S)
        inner = wrapped.group(1).strip() if wrapped else term
        value = literal(inner)
        if value is not None:
            choices = [value]
        else:
            member = re.fullmatch(r"\w+\s*(?:\.|->)\s*(\w+)", inner)
            if not member:
                raise SourceError(f"{where}: cannot evaluate path term '{term}'")
            choices = table_values(text, member.group(1), where)
        results = [prefix + choice for prefix in results for choice in choices]
    return results


def registered_routes(source_dir):
    """{(METHOD, path): is_public} for every route registered in api/*.cc."""
    routes = {}
    files = sorted((source_dir / "api").glob("*.cc"))
    if not files:
        raise SourceError(f"no api/*.cc under {source_dir}")
    for file in files:
        text = strip_comments(file.read_text())
        helper_public = None
        calls = []
        for match in re.finditer(r"\brouter\.Add\(\s*\{|\broute\(\s*\"", text):
            is_helper_call = match.group(0).startswith("route(")
            # route("GET", ...) lists its arguments in parentheses, router.Add({...}) in braces.
            open_at = text.index("(", match.start()) if is_helper_call else match.end() - 1
            args = split_top_level(text[open_at + 1:matching_close(text, open_at)])
            if is_helper_call:
                calls.append((match.start(), args, None))
                continue
            if len(args) < 5:
                raise SourceError(f"{file.name}: router.Add with {len(args)} fields")
            if args[3] not in ("true", "false"):
                raise SourceError(f"{file.name}: router.Add is_public is '{args[3]}'")
            public = args[3] == "true"
            members = [re.fullmatch(r"\s*\w+\s*(?:\.|->)\s*(\w+)\s*", a) for a in args[:2]]
            if all(members):
                # A loop over a table such as token_routes.cc's: {"POST", "/path", handler}.
                where = f"{file.name}:{text.count(chr(10), 0, match.start()) + 1}"
                for method, path in table_pairs(text, members[0].group(1), members[1].group(1),
                                                where):
                    calls.append((match.start(), [f'"{method}"', f'"{path}"'], public))
                continue
            if literal(args[0]) is None:
                # The body of a helper such as key_routes.cc's `route`: method and pattern are
                # its parameters; its public flag applies to every route(...) call in the file.
                helper_public = public
                continue
            calls.append((match.start(), args, public))
        for offset, args, public in calls:
            where = f"{file.name}:{text.count(chr(10), 0, offset) + 1}"
            if public is None:
                if helper_public is None:
                    raise SourceError(f"{where}: route(...) but no router.Add helper in the file")
                public = helper_public
            method = literal(args[0])
            if method is None or not re.fullmatch(r"[A-Z]+", method):
                raise SourceError(f"{where}: the method is not a literal: {args[0]}")
            for path in path_values(args[1], text, where):
                if (method, path) in routes:
                    raise SourceError(f"{where}: {method} {path} is registered twice")
                routes[(method, path)] = public
    return routes


def documented_routes(openapi_file):
    """{(METHOD, path): operation} for every operation in the OpenAPI document."""
    document = yaml.safe_load(openapi_file.read_text())
    if not str(document.get("openapi", "")).startswith("3.1"):
        raise SourceError(f"{openapi_file}: not an OpenAPI 3.1 document")
    operations = {}
    for path, item in (document.get("paths") or {}).items():
        for method in HTTP_METHODS:
            if method in item:
                operations[(method.upper(), path)] = item[method]
    return operations


def main(argv):
    if len(argv) != 2:
        print(__doc__.splitlines()[2], file=sys.stderr)
        return 2
    source_dir = pathlib.Path(argv[1])
    try:
        code = registered_routes(source_dir)
        docs = documented_routes(source_dir / "docs" / "openapi.yaml")
    except (SourceError, OSError, yaml.YAMLError) as error:
        print(f"check_openapi: {error}", file=sys.stderr)
        return 1

    problems = []
    for method, path in sorted(set(code) - set(docs), key=lambda r: (r[1], r[0])):
        problems.append(f"registered in api/ but missing from docs/openapi.yaml: {method} {path}")
    for method, path in sorted(set(docs) - set(code), key=lambda r: (r[1], r[0])):
        problems.append(f"in docs/openapi.yaml but not registered in api/: {method} {path}")
    for route in sorted(set(code) & set(docs), key=lambda r: (r[1], r[0])):
        documented_public = docs[route].get("security") == []
        if code[route] != documented_public:
            expected = "security: []" if code[route] else "no `security: []` (mTLS required)"
            problems.append(f"{route[0]} {route[1]}: the server says public={code[route]}; "
                            f"document it with {expected}")

    for problem in problems:
        print(f"check_openapi: {problem}", file=sys.stderr)
    if problems:
        return 1
    print(f"check_openapi: {len(code)} routes, all documented in docs/openapi.yaml")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
