//! Package manifests: which packages a repository provides and which it requires, read from
//! the files package managers keep (Cargo.toml, package.json, go.mod, pyproject.toml,
//! setup.cfg, requirements*.txt, pom.xml, build.gradle(.kts), settings.gradle(.kts),
//! composer.json, Gemfile, *.gemspec, *.csproj). Code navigation links repository A to B when
//! A requires a package B provides, and resolves A's uses into B's definitions.
//!
//! Names are normalised as package managers compare them: lowercase, with `_` and `.` read
//! as `-` (PEP 503; Cargo treats `-` and `_` alike).

use std::collections::BTreeSet;

/// What one manifest (or a repository's manifests together) says.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Packages {
    /// Package names the repository publishes.
    pub provides: BTreeSet<String>,
    /// Package names it depends on.
    pub requires: BTreeSet<String>,
}

impl Packages {
    /// Adds what `other` says.
    pub fn merge(&mut self, other: Packages) {
        self.provides.extend(other.provides);
        self.requires.extend(other.requires);
    }

    fn provide(&mut self, name: &str) {
        if let Some(n) = normalize(name) {
            self.provides.insert(n);
        }
    }

    fn require(&mut self, name: &str) {
        if let Some(n) = normalize(name) {
            self.requires.insert(n);
        }
    }
}

/// A package name as compared: lowercase, `-` for `_` and `.`, without a scope's `@`; `None`
/// for what is no name (empty, a path, a URL).
pub fn normalize(name: &str) -> Option<String> {
    let n = name.trim().trim_matches(|c| c == '"' || c == '\'');
    if n.is_empty() || n.contains("://") || n.starts_with('.') {
        return None;
    }
    Some(n.to_ascii_lowercase().replace(['_', '.'], "-"))
}

/// Whether a file (by name) is a manifest this module reads.
pub fn is_manifest(file_name: &str) -> bool {
    matches!(
        file_name,
        "Cargo.toml"
            | "package.json"
            | "go.mod"
            | "pyproject.toml"
            | "setup.cfg"
            | "pom.xml"
            | "build.gradle"
            | "build.gradle.kts"
            | "settings.gradle"
            | "settings.gradle.kts"
            | "composer.json"
            | "Gemfile"
    ) || file_name.ends_with(".gemspec")
        || file_name.ends_with(".csproj")
        || (file_name.starts_with("requirements") && file_name.ends_with(".txt"))
}

/// What a manifest named `file_name` holding `text` says; nothing for one that does not parse
/// (a half-written file is read again at the next sync).
pub fn read(file_name: &str, text: &str) -> Packages {
    let mut p = Packages::default();
    match file_name {
        "Cargo.toml" => cargo(text, &mut p),
        "package.json" | "composer.json" => json(text, &mut p),
        "go.mod" => go_mod(text, &mut p),
        "pyproject.toml" => pyproject(text, &mut p),
        "setup.cfg" => setup_cfg(text, &mut p),
        "pom.xml" => pom(text, &mut p),
        "build.gradle" | "build.gradle.kts" => gradle(text, &mut p),
        "settings.gradle" | "settings.gradle.kts" => gradle_settings(text, &mut p),
        "Gemfile" => gemfile(text, &mut p),
        n if n.ends_with(".gemspec") => gemspec(text, &mut p),
        n if n.ends_with(".csproj") => csproj(n, text, &mut p),
        n if n.starts_with("requirements") => requirements(text, &mut p),
        _ => {}
    }
    p
}

fn cargo(text: &str, p: &mut Packages) {
    let Ok(doc) = text.parse::<toml::Table>() else {
        return;
    };
    if let Some(name) = doc
        .get("package")
        .and_then(|t| t.get("name"))
        .and_then(|n| n.as_str())
    {
        p.provide(name);
    }
    let mut tables: Vec<&toml::Table> = Vec::new();
    for key in ["dependencies", "dev-dependencies", "build-dependencies"] {
        tables.extend(doc.get(key).and_then(|t| t.as_table()));
        if let Some(ws) = doc.get("workspace").and_then(|w| w.get(key)) {
            tables.extend(ws.as_table());
        }
    }
    for table in tables {
        for (key, spec) in table {
            // `alias = { package = "real-name" }`
            let real = spec.get("package").and_then(|v| v.as_str()).unwrap_or(key);
            p.require(real);
        }
    }
}

fn json(text: &str, p: &mut Packages) {
    let Ok(doc) = serde_json::from_str::<serde_json::Value>(text) else {
        return;
    };
    if let Some(name) = doc["name"].as_str() {
        p.provide(name);
    }
    for key in [
        "dependencies",
        "devDependencies",
        "peerDependencies",
        "optionalDependencies",
        "require",
        "require-dev",
    ] {
        if let Some(deps) = doc[key].as_object() {
            for name in deps.keys() {
                p.require(name);
            }
        }
    }
}

fn go_mod(text: &str, p: &mut Packages) {
    let mut in_require = false;
    for line in text.lines() {
        let line = line.split("//").next().unwrap_or("").trim();
        if let Some(module) = line.strip_prefix("module ") {
            p.provide(module);
        } else if line.starts_with("require (") {
            in_require = true;
        } else if in_require && line == ")" {
            in_require = false;
        } else if let Some(dep) = line.strip_prefix("require ") {
            p.require(dep.split_whitespace().next().unwrap_or(""));
        } else if in_require {
            p.require(line.split_whitespace().next().unwrap_or(""));
        }
    }
}

/// `requests>=2.0; python_version > "3"` → `requests`.
fn pep508_name(spec: &str) -> &str {
    let end = spec
        .find(|c: char| !(c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.')))
        .unwrap_or(spec.len());
    &spec[..end]
}

fn pyproject(text: &str, p: &mut Packages) {
    let Ok(doc) = text.parse::<toml::Table>() else {
        return;
    };
    let project = doc.get("project");
    if let Some(name) = project.and_then(|t| t.get("name")).and_then(|n| n.as_str()) {
        p.provide(name);
    }
    let mut specs: Vec<&str> = Vec::new();
    if let Some(deps) = project
        .and_then(|t| t.get("dependencies"))
        .and_then(|d| d.as_array())
    {
        specs.extend(deps.iter().filter_map(|d| d.as_str()));
    }
    if let Some(extra) = project
        .and_then(|t| t.get("optional-dependencies"))
        .and_then(|d| d.as_table())
    {
        for list in extra.values().filter_map(|v| v.as_array()) {
            specs.extend(list.iter().filter_map(|d| d.as_str()));
        }
    }
    for spec in specs {
        p.require(pep508_name(spec.trim()));
    }
    let poetry = doc.get("tool").and_then(|t| t.get("poetry"));
    if let Some(name) = poetry.and_then(|t| t.get("name")).and_then(|n| n.as_str()) {
        p.provide(name);
    }
    for key in ["dependencies", "dev-dependencies"] {
        if let Some(deps) = poetry.and_then(|t| t.get(key)).and_then(|d| d.as_table()) {
            for name in deps.keys().filter(|k| *k != "python") {
                p.require(name);
            }
        }
    }
}

fn setup_cfg(text: &str, p: &mut Packages) {
    let mut section = "";
    let mut in_requires = false;
    for raw in text.lines() {
        let line = raw.trim();
        if line.starts_with('[') {
            section = line;
            in_requires = false;
            continue;
        }
        if section == "[metadata]" {
            if let Some(name) = line
                .strip_prefix("name")
                .and_then(|r| r.trim_start().strip_prefix('='))
            {
                p.provide(name.trim());
            }
        }
        if section == "[options]" {
            if let Some(rest) = line
                .strip_prefix("install_requires")
                .and_then(|r| r.trim_start().strip_prefix('='))
            {
                in_requires = true;
                p.require(pep508_name(rest.trim()));
                continue;
            }
            // Continuation lines are indented.
            if in_requires && raw.starts_with(char::is_whitespace) && !line.is_empty() {
                p.require(pep508_name(line));
            } else if !raw.starts_with(char::is_whitespace) {
                in_requires = false;
            }
        }
    }
}

fn requirements(text: &str, p: &mut Packages) {
    for line in text.lines() {
        let line = line.split('#').next().unwrap_or("").trim();
        if line.is_empty() || line.starts_with('-') {
            continue;
        }
        p.require(pep508_name(line));
    }
}

fn pom(text: &str, p: &mut Packages) {
    let Ok(doc) = roxmltree::Document::parse(text) else {
        return;
    };
    let root = doc.root_element();
    let child_text = |node: roxmltree::Node, tag: &str| {
        node.children()
            .find(|c| c.has_tag_name(tag))
            .and_then(|c| c.text())
            .map(str::to_string)
    };
    if let Some(id) = child_text(root, "artifactId") {
        p.provide(&id);
    }
    for dep in root.descendants().filter(|n| n.has_tag_name("dependency")) {
        if let Some(id) = child_text(dep, "artifactId") {
            p.require(&id);
        }
    }
}

/// `implementation 'group:artifact:1.0'`, `api("group:artifact:1.0")`,
/// `implementation project(':core')`.
fn gradle(text: &str, p: &mut Packages) {
    const CONFIGS: &[&str] = &[
        "implementation",
        "api",
        "compileOnly",
        "runtimeOnly",
        "testImplementation",
        "compile",
    ];
    for line in text.lines() {
        let line = line.trim();
        let Some(rest) = CONFIGS.iter().find_map(|c| line.strip_prefix(c)) else {
            continue;
        };
        if let Some(project) = rest.split("project(").nth(1) {
            let name = project.trim_matches(|c: char| "'\"():) ".contains(c));
            p.require(name.rsplit(':').next().unwrap_or(name));
            continue;
        }
        let quoted: String = rest
            .trim_matches(|c: char| c == '(' || c == ')' || c.is_whitespace())
            .trim_matches(|c| c == '"' || c == '\'')
            .to_string();
        let mut parts = quoted.split(':');
        if let (Some(_group), Some(artifact)) = (parts.next(), parts.next()) {
            p.require(artifact);
        }
    }
}

fn gradle_settings(text: &str, p: &mut Packages) {
    for line in text.lines() {
        if let Some(rest) = line.trim().strip_prefix("rootProject.name") {
            let name = rest.trim_start_matches([' ', '=']).trim();
            p.provide(name);
        }
    }
}

/// The first quoted string of a line (`gem 'rails', '~> 7'` → `rails`).
fn first_quoted(line: &str) -> Option<&str> {
    let start = line.find(['"', '\''])?;
    let quote = line[start..].chars().next()?;
    let rest = &line[start + 1..];
    rest.find(quote).map(|end| &rest[..end])
}

fn gemfile(text: &str, p: &mut Packages) {
    for line in text.lines() {
        if let Some(rest) = line.trim().strip_prefix("gem ") {
            if let Some(name) = first_quoted(rest) {
                p.require(name);
            }
        }
    }
}

fn gemspec(text: &str, p: &mut Packages) {
    for line in text.lines() {
        let line = line.trim();
        if line.contains(".name") && line.contains('=') {
            if let Some(name) = first_quoted(line.split('=').nth(1).unwrap_or("")) {
                p.provide(name);
            }
        } else if line.contains("add_dependency")
            || line.contains("add_runtime_dependency")
            || line.contains("add_development_dependency")
        {
            if let Some(name) = first_quoted(line) {
                p.require(name);
            }
        }
    }
}

fn csproj(file_name: &str, text: &str, p: &mut Packages) {
    let Ok(doc) = roxmltree::Document::parse(text) else {
        return;
    };
    let stem = file_name.trim_end_matches(".csproj");
    let named = |tag: &str| {
        doc.descendants()
            .find(|n| n.has_tag_name(tag))
            .and_then(|n| n.text())
            .map(str::to_string)
    };
    p.provide(
        &named("PackageId")
            .or_else(|| named("AssemblyName"))
            .unwrap_or_else(|| stem.to_string()),
    );
    for node in doc.descendants() {
        let Some(include) = node.attribute("Include") else {
            continue;
        };
        if node.has_tag_name("PackageReference") {
            p.require(include);
        } else if node.has_tag_name("ProjectReference") {
            // `..\Core\Core.csproj` → `Core`
            let file = include.rsplit(['\\', '/']).next().unwrap_or(include);
            p.require(file.trim_end_matches(".csproj"));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set(names: &[&str]) -> BTreeSet<String> {
        names.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn every_manifest_kind_names_what_it_provides_and_requires() {
        let cases: &[(&str, &str, &[&str], &[&str])] = &[
            (
                "Cargo.toml",
                "[package]\nname = \"my_core\"\n[dependencies]\nserde = \"1\"\nfast = { package = \"fast-json\", version = \"1\" }\n[dev-dependencies]\ntempfile = \"3\"\n",
                &["my-core"],
                &["serde", "fast-json", "tempfile"],
            ),
            (
                "package.json",
                r#"{"name": "@acme/web", "dependencies": {"@acme/core": "^1"}, "devDependencies": {"jest": "29"}}"#,
                &["@acme/web"],
                &["@acme/core", "jest"],
            ),
            (
                "go.mod",
                "module github.com/acme/api\n\ngo 1.22\n\nrequire (\n\tgithub.com/acme/core v1.0.0 // indirect\n)\nrequire golang.org/x/sync v0.1.0\n",
                &["github-com/acme/api"],
                &["github-com/acme/core", "golang-org/x/sync"],
            ),
            (
                "pyproject.toml",
                "[project]\nname = \"Acme.Tools\"\ndependencies = [\"requests>=2\", \"acme_core ; python_version>'3.8'\"]\n",
                &["acme-tools"],
                &["requests", "acme-core"],
            ),
            (
                "setup.cfg",
                "[metadata]\nname = acme-cli\n[options]\ninstall_requires =\n    click>=8\n    acme-core\npython_requires = >=3.8\n",
                &["acme-cli"],
                &["click", "acme-core"],
            ),
            ("requirements-dev.txt", "# tools\nrequests==2.31\n-r base.txt\npytest\n", &[], &["requests", "pytest"]),
            (
                "pom.xml",
                "<project><artifactId>shop</artifactId><dependencies><dependency><groupId>a</groupId><artifactId>core-lib</artifactId></dependency></dependencies></project>",
                &["shop"],
                &["core-lib"],
            ),
            (
                "build.gradle",
                "dependencies {\n  implementation 'com.acme:core-lib:1.0'\n  api(\"org.x:y:2\")\n  implementation project(':shared')\n}\n",
                &[],
                &["core-lib", "y", "shared"],
            ),
            ("settings.gradle", "rootProject.name = 'shop'\n", &["shop"], &[]),
            (
                "composer.json",
                r#"{"name": "acme/shop", "require": {"acme/core": "^1", "php": ">=8"}}"#,
                &["acme/shop"],
                &["acme/core", "php"],
            ),
            ("Gemfile", "source 'https://rubygems.org'\ngem 'rails', '~> 7'\ngem \"acme_core\"\n", &[], &["rails", "acme-core"]),
            (
                "acme.gemspec",
                "Gem::Specification.new do |s|\n  s.name = 'acme'\n  s.add_dependency 'json'\nend\n",
                &["acme"],
                &["json"],
            ),
            (
                "Shop.csproj",
                r#"<Project><ItemGroup><PackageReference Include="Newtonsoft.Json" Version="13" /><ProjectReference Include="..\Core\Core.csproj" /></ItemGroup></Project>"#,
                &["shop"],
                &["newtonsoft-json", "core"],
            ),
        ];
        for (file, text, provides, requires) in cases {
            assert!(is_manifest(file), "{file}");
            let p = read(file, text);
            assert_eq!(p.provides, set(provides), "{file} provides");
            assert_eq!(p.requires, set(requires), "{file} requires");
        }
        assert!(!is_manifest("README.md"));
        assert_eq!(read("Cargo.toml", "not [ toml"), Packages::default());
    }
}
