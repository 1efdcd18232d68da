use super::*;

fn file(id: i64, repo_id: i64, path: &str, language: &str) -> FileInfo {
    FileInfo {
        id,
        repo_id,
        repository: format!("r{repo_id}"),
        path: path.into(),
        language: language.into(),
    }
}

fn import(name: &str, module: &str) -> Reference {
    Reference {
        name: name.into(),
        kind: RefKind::Import,
        line: 1,
        column: 1,
        qualifier: None,
        module: Some(module.into()),
        alias: None,
    }
}

#[test]
fn imports_resolve_to_the_module_file_in_each_language() {
    let cases: &[(&str, &str, &str, &str, Option<Confidence>)] = &[
        (
            "python",
            "app/cli.py",
            "app.store",
            "app/store.py",
            Some(Confidence::Exact),
        ),
        (
            "python",
            "src/app/cli.py",
            ".store",
            "src/app/store.py",
            Some(Confidence::Exact),
        ),
        (
            "python",
            "app/cli.py",
            "app.store",
            "app/store/__init__.py",
            Some(Confidence::Exact),
        ),
        (
            "python",
            "app/cli.py",
            "app",
            "app/store/ops.py",
            Some(Confidence::Likely),
        ),
        ("python", "app/cli.py", "other.store", "app/store.py", None),
        (
            "typescript",
            "src/ui/app.ts",
            "../store",
            "src/store.ts",
            Some(Confidence::Exact),
        ),
        (
            "typescript",
            "src/ui/app.ts",
            "./store.js",
            "src/ui/store.ts",
            Some(Confidence::Exact),
        ),
        (
            "typescript",
            "src/ui/app.ts",
            "./lib",
            "src/ui/lib/index.tsx",
            Some(Confidence::Exact),
        ),
        (
            "typescript",
            "src/ui/app.ts",
            "./other",
            "src/ui/store.ts",
            None,
        ),
        (
            "rust",
            "src/main.rs",
            "crate::store",
            "src/store.rs",
            Some(Confidence::Exact),
        ),
        (
            "rust",
            "src/a/b.rs",
            "super::store",
            "src/a/store/mod.rs",
            Some(Confidence::Exact),
        ),
        (
            "go",
            "cmd/main.go",
            "example.com/app/store",
            "store/store.go",
            Some(Confidence::Exact),
        ),
        (
            "java",
            "app/Main.java",
            "app.store",
            "app/store/Store.java",
            Some(Confidence::Exact),
        ),
        (
            "php",
            "src/Main.php",
            "App\\Models",
            "src/Models/Store.php",
            Some(Confidence::Exact),
        ),
        (
            "ruby",
            "lib/main.rb",
            "app/store",
            "lib/app/store.rb",
            Some(Confidence::Exact),
        ),
        (
            "c",
            "src/main.c",
            "store.h",
            "src/store.c",
            Some(Confidence::Likely),
        ),
    ];
    for (lang, importer, module, target, expected) in cases {
        let i = import("Store", module);
        let got = import_resolves(&i, &file(1, 1, importer, lang), &file(2, 1, target, lang));
        assert_eq!(
            got, *expected,
            "{lang}: {module} from {importer} -> {target}"
        );
    }
}

fn call(q: Option<&str>) -> Reference {
    Reference {
        name: "save".into(),
        kind: RefKind::Call,
        line: 5,
        column: 9,
        qualifier: q.map(str::to_string),
        module: None,
        alias: None,
    }
}

#[test]
fn self_calls_are_exact_in_the_class_and_receiver_calls_are_names() {
    let def_file = file(1, 1, "app/store.py", "python");
    let other = file(2, 1, "app/cli.py", "python");
    let target = Target {
        file: &def_file,
        kind: "method",
        container: Some("Store"),
        packages: &[],
        scope: None,
    };
    let around = |f, container| Around {
        file: f,
        container,
        qualifier_imports: &[],
        name_imports: &[],
        via_import: None,
        own_member: false,
    };
    let c = |site: &Reference, a: &Around| confidence(site, a, &target, true);
    let in_store = around(&def_file, Some("Store"));
    let in_cache = around(&def_file, Some("Cache"));
    let elsewhere = around(&other, None);
    assert_eq!(c(&call(Some("self")), &in_store), Some(Confidence::Exact));
    assert_eq!(c(&call(Some("self")), &in_cache), Some(Confidence::Name));
    assert_eq!(c(&call(Some("Store")), &elsewhere), Some(Confidence::Exact));
    assert_eq!(c(&call(Some("store")), &elsewhere), Some(Confidence::Name));
    // A bare call cannot reach a Python method.
    assert_eq!(c(&call(None), &elsewhere), None);
    // Another language family, or an unrelated repository, never matches.
    let js = file(3, 1, "a.js", "javascript");
    assert_eq!(c(&call(Some("self")), &around(&js, Some("Store"))), None);
    assert_eq!(
        confidence(&call(Some("self")), &in_store, &target, false),
        None
    );
}

#[test]
fn bare_calls_of_functions_follow_imports() {
    let def_file = file(1, 1, "app/store.py", "python");
    let target = Target {
        file: &def_file,
        kind: "function",
        container: None,
        packages: &[],
        scope: None,
    };
    let cli = file(2, 1, "app/cli.py", "python");
    let here = [import("save", "app.store")];
    let there = [import("save", "lib.other")];
    let around = |name_imports| Around {
        file: &cli,
        container: None,
        qualifier_imports: &[],
        name_imports,
        via_import: None,
        own_member: false,
    };
    let c = |a: &Around| confidence(&call(None), a, &target, true);
    assert_eq!(c(&around(&here)), Some(Confidence::Exact));
    assert_eq!(c(&around(&there)), None, "imported from elsewhere");
    assert_eq!(
        c(&around(&[])),
        Some(Confidence::Name),
        "same folder, not imported"
    );
    // `store.save()` where the file did `import app.store as store`.
    let module = [Reference {
        alias: Some("store".into()),
        ..import("store", "app")
    }];
    let qualified = Around {
        qualifier_imports: &module,
        ..around(&[])
    };
    assert_eq!(
        confidence(&call(Some("store")), &qualified, &target, true),
        Some(Confidence::Exact)
    );
    // `x.save()` on some receiver never calls a free function.
    assert_eq!(
        confidence(&call(Some("x")), &around(&[]), &target, true),
        None
    );
}

#[test]
fn type_paths_are_not_receivers_and_aliases_of_the_class_are_the_class() {
    let def_file = file(1, 1, "src/store.rs", "rust");
    let target = Target {
        file: &def_file,
        kind: "method",
        container: Some("Store"),
        packages: &[],
        scope: None,
    };
    let main = file(2, 1, "src/main.rs", "rust");
    let around = |qualifier_imports| Around {
        file: &main,
        container: None,
        qualifier_imports,
        name_imports: &[],
        via_import: None,
        own_member: false,
    };
    let c = |q: &str, a: &Around| confidence(&call(Some(q)), a, &target, true);
    assert_eq!(c("Other", &around(&[])), None, "Other::save() is Other's");
    assert_eq!(c("a::Other", &around(&[])), None);
    assert_eq!(c("s", &around(&[])), Some(Confidence::Name), "a receiver");
    assert_eq!(c("Store", &around(&[])), Some(Confidence::Exact));
    // PHP: `use App\Store as S;` … `S::save()`.
    let php_def = file(3, 1, "src/Store.php", "php");
    let php = file(4, 1, "src/main.php", "php");
    let alias = [Reference {
        alias: Some("S".into()),
        ..import("Store", "App")
    }];
    let php_target = Target {
        file: &php_def,
        ..target
    };
    let a = Around {
        file: &php,
        qualifier_imports: &alias,
        ..around(&[])
    };
    assert_eq!(
        confidence(&call(Some("S")), &a, &php_target, true),
        Some(Confidence::Exact)
    );
}
