//! Resolution: how sure it is that a use of a name means one definition, from the evidence
//! around the use (its file, its enclosing class, its qualifier, the file's imports) and
//! around the definition (its file, its class). Pure functions over plain data: the store
//! gives the rows, `navigate` asks these.

use crate::chunk::{RefKind, Reference};
use crate::store::FileInfo;
use serde::Serialize;

/// How sure a resolved use is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Confidence {
    /// Only the name matches.
    Name,
    /// Narrowed by scope (same folder or package, an import of the package) but not certain.
    Likely,
    /// Certain from scope or imports: the same file or class, an import of this file.
    Exact,
}

impl Confidence {
    /// The name shown (`exact`, `likely`, `name`).
    pub fn name(self) -> &'static str {
        match self {
            Confidence::Exact => "exact",
            Confidence::Likely => "likely",
            Confidence::Name => "name",
        }
    }
}

/// A definition that uses are matched against.
#[derive(Debug, Clone, Copy)]
pub struct Target<'a> {
    pub file: &'a FileInfo,
    /// The definition's kind (`function`, `method`, `class`, ...).
    pub kind: &'a str,
    /// The type it is a member of (a class, struct, trait, impl's type), if any.
    pub container: Option<&'a str>,
    /// The packages its repository provides (normalised names, from its manifests).
    pub packages: &'a [String],
    /// A function nested in another: that one's lines, outside which its name means
    /// something else.
    pub scope: Option<(u32, u32)>,
}

impl Target<'_> {
    /// A method: of a class (or impl, trait...), or of a receiver type (Go's methods are
    /// declared outside their type). Ruby's top-level `def` is a method of no class.
    pub fn is_member(&self) -> bool {
        self.container.is_some() || (self.kind == "method" && self.file.language == "go")
    }
}

/// What is known around a use.
#[derive(Debug, Clone, Copy)]
pub struct Around<'a> {
    pub file: &'a FileInfo,
    /// The type whose body holds the use, if any.
    pub container: Option<&'a str>,
    /// The use's file imports the name the use is qualified by (its first part): those
    /// imports. Empty when unqualified or when none does.
    pub qualifier_imports: &'a [Reference],
    /// The file's imports of the use's own name (those binding it, not under an alias).
    pub name_imports: &'a [Reference],
    /// The use is of a name the file imports the target's name as (`import f as g` … `g()`):
    /// only that import says what it means.
    pub via_import: Option<&'a Reference>,
    /// The use is `self.x()` in a class that defines its own `x`.
    pub own_member: bool,
}

/// Names that stand for the object or class at hand.
pub fn is_self(qualifier: &str) -> bool {
    matches!(
        qualifier,
        "self" | "this" | "$this" | "Self" | "cls" | "static" | "@" | "super" | "parent"
    )
}

/// Languages whose definitions can refer to each other: TypeScript uses JavaScript, C++
/// uses C.
pub fn family(language: &str) -> &str {
    match language {
        "typescript" | "javascript" => "ecma",
        "cpp" | "c" => "c",
        other => other,
    }
}

/// Languages where a bare call inside a class may call one of its methods.
fn implicit_self(language: &str) -> bool {
    matches!(language, "java" | "csharp" | "cpp" | "ruby")
}

/// Languages where every file of a repository (or package) sees every other's definitions
/// without an import of the file.
fn shared_namespace(language: &str) -> bool {
    matches!(language, "c" | "cpp" | "ruby" | "php" | "csharp")
}

/// Whether a qualifier is a type's (or module's) path rather than a receiver: a multi-part
/// path, a capitalised name where the language's conventions keep receivers lowercase
/// (`Other::new()`, `Other.of()`), a PHP name without `$`.
fn names_a_type(q: &str, language: &str) -> bool {
    let capital = q.chars().next().is_some_and(char::is_uppercase);
    q.contains("::")
        || match language {
            "rust" | "cpp" | "java" => capital,
            "php" => !q.starts_with('$') && q != "?",
            _ => false,
        }
}

/// The first part of a qualifier (`os` of `os.path`, `crate` of `crate::m`).
pub fn head(qualifier: &str) -> &str {
    qualifier
        .split(['.', ':', '\\', '-', '>'])
        .find(|s| !s.is_empty())
        .unwrap_or(qualifier)
}

/// The last part of a qualifier (`path` of `os.path`).
pub fn tail(qualifier: &str) -> &str {
    qualifier
        .rsplit(['.', ':', '\\', '-', '>'])
        .find(|s| !s.is_empty())
        .unwrap_or(qualifier)
}

/// How sure it is that `site` (a use found `around`) means `target`; `None` when it cannot.
/// `related` says whether the use's repository may see the target's (the same one, or one
/// it depends on).
pub fn confidence(
    site: &Reference,
    around: &Around,
    target: &Target,
    related: bool,
) -> Option<Confidence> {
    if family(&around.file.language) != family(&target.file.language) || !related {
        return None;
    }
    let same_file = around.file.id == target.file.id;
    let same_repo = around.file.repo_id == target.file.repo_id;
    if let Some(import) = around.via_import {
        return resolves(import, around.file, target);
    }
    if site.kind == RefKind::Import {
        // An import beside the definition brings in another thing of the same name.
        return (!same_file)
            .then(|| resolves(site, around.file, target))
            .flatten();
    }
    if let (true, Some((from, to))) = (same_file, target.scope) {
        // A nested function is seen only inside the function holding it.
        if site.line < from || site.line > to {
            return None;
        }
    }
    let member = target.is_member();
    match site.qualifier.as_deref() {
        Some(q) if is_self(q) => {
            if !member {
                return None;
            }
            if around.container == target.container {
                Some(Confidence::Exact)
            } else if around.own_member {
                None
            } else {
                Some(Confidence::Name)
            }
        }
        Some(q) if member => {
            if target.container == Some(tail(q)) {
                return Some(Confidence::Exact);
            }
            // Qualified by an imported name: the class itself under an alias (`use A\Store
            // as S` … `S::save()`), else another class or a module.
            if !around.qualifier_imports.is_empty() {
                let aliased = around
                    .qualifier_imports
                    .iter()
                    .any(|i| target.container == Some(i.name.as_str()));
                return aliased.then_some(Confidence::Exact);
            }
            // `Other::new()`: a path names a type (or module), never a receiver whose type
            // could be this one's.
            if names_a_type(q, &around.file.language) {
                return None;
            }
            // A call on some receiver: the name is all there is, unless the definition is
            // beside the use.
            Some(if same_file {
                Confidence::Likely
            } else {
                Confidence::Name
            })
        }
        Some(q) => module_qualified(q, around, target),
        None if member => {
            if !implicit_self(&around.file.language) {
                return None;
            }
            Some(
                if around.container.is_some() && around.container == target.container {
                    Confidence::Exact
                } else {
                    Confidence::Name
                },
            )
        }
        None => {
            if same_file {
                return Some(Confidence::Exact);
            }
            // C#'s `using` names namespaces, not what they hold.
            let imports = if around.file.language == "csharp" {
                &[][..]
            } else {
                around.name_imports
            };
            if let Some(best) = imports
                .iter()
                .map(|i| resolves(i, around.file, target))
                .max()
            {
                // Imported: from this definition's file, or from somewhere else.
                return best;
            }
            let same_package = matches!(around.file.language.as_str(), "go" | "java");
            if same_package && same_repo && parent(&around.file.path) == parent(&target.file.path) {
                return Some(Confidence::Likely);
            }
            if same_repo && shared_namespace(&around.file.language) {
                return Some(Confidence::Likely);
            }
            Some(Confidence::Name)
        }
    }
}

/// `pkg.f()`, `store::save()`, `np.array()`: the qualifier names a module the file imports
/// (or the target's own module).
fn module_qualified(q: &str, around: &Around, target: &Target) -> Option<Confidence> {
    let best = around
        .qualifier_imports
        .iter()
        .filter_map(|i| {
            // The import binds a module (`import a.b as m`, `import * as m`, `use a::m`,
            // Go's package): what it names, with the rest of the qualifier after it.
            let mut module = match (i.name.as_str(), i.module.as_deref()) {
                ("*", Some(m)) => m.to_string(),
                (name, Some(m)) if !m.is_empty() && !module_is_path(i) => {
                    format!("{m}{}{name}", separator(&around.file.language))
                }
                (_, Some(m)) => m.to_string(),
                (name, None) => name.to_string(),
            };
            if let Some(rest) = q.strip_prefix(head(q)).filter(|r| !r.is_empty()) {
                module.push_str(rest);
            }
            let import = Reference {
                module: Some(module),
                ..i.clone()
            };
            resolves(&import, around.file, target)
        })
        .max();
    if best.is_some() {
        return best;
    }
    // Unimported: the qualifier may still name the target's module (`crate::store::save`,
    // a Ruby or PHP class, a C++ namespace).
    let stem = stem(&target.file.path);
    let dir = parent(&target.file.path).rsplit('/').next().unwrap_or("");
    let last = tail(q);
    (last == stem || last == dir).then_some(Confidence::Likely)
}

/// Whether an import's module is a path (`./x`, `net/http`, `<stdio.h>`), not a dotted or
/// `::` module name the imported name extends.
fn module_is_path(i: &Reference) -> bool {
    i.module
        .as_deref()
        .is_some_and(|m| m.contains('/') || m.starts_with('.') && !m.contains("::"))
}

fn separator(language: &str) -> &'static str {
    match language {
        "rust" | "cpp" => "::",
        "php" => "\\",
        "go" | "ruby" | "c" => "/",
        _ => ".",
    }
}

/// [`import_resolves`], and for a target in another repository (one the importer's depends
/// on), an import naming one of the packages that repository provides is likely its.
fn resolves(i: &Reference, importer: &FileInfo, target: &Target) -> Option<Confidence> {
    let direct = import_resolves(i, importer, target.file);
    if direct.is_some() || importer.repo_id == target.file.repo_id {
        return direct;
    }
    let module = i
        .module
        .as_deref()
        .filter(|m| !m.is_empty())
        .unwrap_or(&i.name);
    let named = codeintel_discovery::manifest::normalize(module)?;
    let first = named.split(['/', ':']).next().unwrap_or(&named);
    target
        .packages
        .iter()
        .any(|p| named == *p || first == p || named.starts_with(&format!("{p}/")))
        .then_some(Confidence::Likely)
}

/// How sure it is that the import `i` (in `importer`) brings in a definition of `target`'s
/// file: its module is that file (exact) or the folder or package holding it (likely).
pub fn import_resolves(
    i: &Reference,
    importer: &FileInfo,
    target: &FileInfo,
) -> Option<Confidence> {
    module_resolves(i, importer, target)
}

fn module_resolves(i: &Reference, importer: &FileInfo, target: &FileInfo) -> Option<Confidence> {
    let module = i.module.as_deref().unwrap_or("");
    let path = target.path.as_str();
    let segments: Vec<String> = match importer.language.as_str() {
        "python" => python_module(module, &importer.path),
        "javascript" | "typescript" => return ecma_module(module, &importer.path, path),
        "rust" => rust_module(module, &importer.path),
        "go" => {
            // A package: the folder. All of the target's folder matched is exact.
            let dir: Vec<&str> = parent(path).split('/').filter(|s| !s.is_empty()).collect();
            let import: Vec<&str> = module.split('/').collect();
            let matched = dir
                .iter()
                .rev()
                .zip(import.iter().rev())
                .take_while(|(a, b)| a == b)
                .count();
            return match matched {
                0 => None,
                n if n == dir.len() || n >= 2 => Some(Confidence::Exact),
                _ => Some(Confidence::Likely),
            };
        }
        "java" => split_owned(module, "."),
        "php" => split_owned(module.trim_start_matches('\\'), "\\"),
        "csharp" => split_owned(&format!("{module}.{}", i.name), "."),
        "ruby" | "c" | "cpp" => {
            let module = if module.is_empty() { &i.name } else { module };
            return file_like(module, &importer.path, path);
        }
        _ => return None,
    };
    let segments: Vec<&str> = segments.iter().map(String::as_str).collect();
    // PSR-4 maps a vendor prefix (`App\`) onto a folder (`src/`): the rest is the path.
    let skip = usize::from(importer.language == "php" && segments.len() > 1);
    [0, skip]
        .into_iter()
        .filter_map(|s| module_file_match(&segments[s..], &i.name, path))
        .max()
}

/// `segments` (a module's path) against the target's path: its own file, or the folder
/// holding it.
fn module_file_match(segments: &[&str], name: &str, path: &str) -> Option<Confidence> {
    let stemmed = strip_extension(path);
    let joined = segments.join("/");
    if joined.is_empty() {
        return None;
    }
    let i = Reference {
        name: name.to_string(),
        kind: RefKind::Import,
        line: 0,
        column: 0,
        qualifier: None,
        module: None,
        alias: None,
    };
    // The module's own file (`a/b.py`, `a/b/__init__.py`, `a/b.rs`, `a/b/mod.rs`), or for
    // Java/PHP/C# the imported class's (`a/b/Name.java`).
    let with_name = format!("{joined}/{}", i.name);
    let files = [
        joined.clone(),
        format!("{joined}/__init__"),
        format!("{joined}/mod"),
        with_name.clone(),
    ];
    if files.iter().any(|f| ends_with_path(stemmed, f)) {
        return Some(Confidence::Exact);
    }
    if path.contains(&format!("{joined}/")) {
        return Some(Confidence::Likely);
    }
    None
}

fn split_owned(s: &str, sep: &str) -> Vec<String> {
    s.split(sep)
        .filter(|p| !p.is_empty())
        .map(str::to_string)
        .collect()
}

/// Python: `a.b` → [a, b]; `.b` → the importer's folder, then b; `..` → its parent.
fn python_module(module: &str, importer: &str) -> Vec<String> {
    let dots = module.len() - module.trim_start_matches('.').len();
    let rest = split_owned(&module[dots..], ".");
    if dots == 0 {
        return rest;
    }
    let mut base: Vec<String> = split_owned(parent(importer), "/");
    for _ in 1..dots {
        base.pop();
    }
    base.extend(rest);
    base
}

/// Rust: `crate::a::b` → [a, b]; `super::x` and `self::x` from the importer's module.
fn rust_module(module: &str, importer: &str) -> Vec<String> {
    let mut parts: Vec<&str> = module.split("::").filter(|p| !p.is_empty()).collect();
    let mut base: Vec<String> = Vec::new();
    match parts.first().copied() {
        Some("crate") => {
            parts.remove(0);
        }
        Some("self") | Some("super") => {
            base = split_owned(strip_extension(importer), "/");
            if base
                .last()
                .is_some_and(|l| l == "mod" || l == "lib" || l == "main")
            {
                base.pop();
            }
            while let Some("self" | "super") = parts.first().copied() {
                if parts.remove(0) == "super" {
                    base.pop();
                }
            }
        }
        // Another crate: only its path inside that crate is known.
        Some(_) => {
            parts.remove(0);
        }
        None => {}
    }
    base.extend(parts.iter().map(|p| p.to_string()));
    base
}

/// JavaScript/TypeScript: a relative specifier is a file (with any of the extensions, or a
/// folder's index); a package specifier only says which package.
fn ecma_module(module: &str, importer: &str, target: &str) -> Option<Confidence> {
    let target_stem = strip_extension(target);
    let target_stem = target_stem.strip_suffix("/index").unwrap_or(target_stem);
    if module.starts_with('.') {
        let joined = normalize(&format!("{}/{module}", parent(importer)));
        let joined = strip_extension(&joined);
        return (joined == target_stem).then_some(Confidence::Exact);
    }
    let tail: Vec<&str> = module.split('/').filter(|s| !s.starts_with('@')).collect();
    let last = tail.last().copied().unwrap_or(module);
    if target_stem.ends_with(&format!("/{}", tail.join("/"))) {
        return Some(Confidence::Likely);
    }
    target
        .split('/')
        .any(|seg| seg == last)
        .then_some(Confidence::Likely)
}

/// Ruby's `require`, C's `#include`: a file path, relative to the importer or to some root.
fn file_like(module: &str, importer: &str, target: &str) -> Option<Confidence> {
    // `require 'a/b'` names no extension: compare without; `#include "b.h"` names the file.
    let (module, target_cmp) = if strip_extension(module) == module {
        (module, strip_extension(target))
    } else {
        (module, target)
    };
    let relative = normalize(&format!("{}/{module}", parent(importer)));
    if target_cmp == relative || ends_with_path(target_cmp, module) {
        return Some(Confidence::Exact);
    }
    // `store.h` declares what `store.c` defines.
    let included = strip_extension(module.rsplit('/').next().unwrap_or(module));
    (stem(target) == included).then_some(Confidence::Likely)
}

fn ends_with_path(path: &str, suffix: &str) -> bool {
    path == suffix || path.ends_with(&format!("/{suffix}"))
}

/// The folder part of a relative path (`""` at the root).
pub fn parent(path: &str) -> &str {
    path.rsplit_once('/').map_or("", |(dir, _)| dir)
}

/// A path without its last extension (`a/b.d.ts` → `a/b.d`; `.d` stays, harmlessly).
fn strip_extension(path: &str) -> &str {
    let name_at = path.rfind('/').map_or(0, |i| i + 1);
    match path[name_at..].rfind('.') {
        Some(0) | None => path,
        Some(dot) => &path[..name_at + dot],
    }
}

/// The file name without extension.
fn stem(path: &str) -> &str {
    let s = strip_extension(path);
    s.rsplit('/').next().unwrap_or(s)
}

/// `a/./b/../c` → `a/c`.
fn normalize(path: &str) -> String {
    let mut out: Vec<&str> = Vec::new();
    for part in path.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                out.pop();
            }
            p => out.push(p),
        }
    }
    out.join("/")
}

#[cfg(test)]
mod tests;
