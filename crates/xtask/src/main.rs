//! Project automation, run as `cargo xtask <command>` (alias in `.cargo/config.toml`).
//!
//! `build-wasm` turns the three edge-function crates into the modules their Deno
//! shims load: release build for `wasm32-unknown-unknown`, wasm-bindgen
//! `--target web` (linked here at exactly the version of the `wasm-bindgen`
//! crate, so the glue always matches the module), wasm-opt, then
//! `<out-dir>/<function>/pkg/`.

use std::error::Error;
use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};
use std::time::Instant;

use flate2::write::GzEncoder;
use flate2::Compression;
use wasm_bindgen_cli_support::Bindgen;

type Result<T> = std::result::Result<T, Box<dyn Error>>;

/// Where the edge functions are listed: one `[functions.<name>]` section each (the file
/// `supabase functions deploy` reads; the scripts, tests and bench read the same list).
const FUNCTIONS_CONFIG: &str = "supabase/config.toml";

/// Written beside each module: what it was built from. The same inputs again skip
/// wasm-bindgen and wasm-opt (a minute of CPU for three modules) and keep the module.
const STAMP_FILE: &str = ".build-stamp";

/// Our budget per optimized module, in bytes: under 300 KB whether a KB is 1000 or 1024
/// bytes. The hosted limit (20 MB per bundle) is far above it; the budget keeps cold
/// starts short (docs/ARCHITECTURE.md, "Module size").
const MAX_MODULE_BYTES: u64 = 300_000;

/// WebAssembly features that rustc (LLVM's `generic` CPU) enables for
/// `wasm32-unknown-unknown` since Rust 1.82/1.87. wasm-opt must be told about
/// them or it rejects the module; every one of them is supported by V8 and so by Deno
/// and the Supabase Edge Runtime. Listed explicitly rather than `--all-features`
/// so wasm-opt never introduces an instruction outside this set.
const WASM_OPT_FEATURES: [&str; 6] = [
    "--enable-bulk-memory",
    "--enable-multivalue",
    "--enable-mutable-globals",
    "--enable-nontrapping-float-to-int",
    "--enable-reference-types",
    "--enable-sign-ext",
];

const USAGE: &str = "\
usage: cargo xtask build-wasm [--features <f1,f2>] [--out-dir <dir>]

  --features  cargo features enabled on each function crate (e.g. fault-injection)
  --out-dir   where <function>/pkg/ is written (default: <repo>/functions)

env: WASM_OPT  the wasm-opt binary (default: node_modules/.bin/wasm-opt, else PATH)";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args.first().map(String::as_str) {
        Some("build-wasm") => BuildOptions::parse(&args[1..]).and_then(|opts| build_wasm(&opts)),
        _ => Err(USAGE.into()),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("error: {err}");
            ExitCode::FAILURE
        }
    }
}

struct BuildOptions {
    features: Vec<String>,
    out_dir: PathBuf,
}

impl BuildOptions {
    fn parse(args: &[String]) -> Result<Self> {
        let mut opts = BuildOptions {
            features: Vec::new(),
            out_dir: repo_root().join("functions"),
        };
        let mut args = args.iter();
        while let Some(arg) = args.next() {
            let mut value = || {
                args.next()
                    .ok_or_else(|| format!("{arg} needs a value\n{USAGE}"))
            };
            match arg.as_str() {
                "--features" => opts.features.extend(
                    value()?
                        .split(',')
                        .map(str::trim)
                        .filter(|f| !f.is_empty())
                        .map(String::from),
                ),
                "--out-dir" => opts.out_dir = absolute(Path::new(value()?))?,
                other => return Err(format!("unknown argument {other}\n{USAGE}").into()),
            }
        }
        Ok(opts)
    }
}

fn repo_root() -> PathBuf {
    // crates/xtask -> repo root; fixed at compile time, valid wherever cargo runs us from.
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    root.canonicalize().unwrap_or(root)
}

fn absolute(path: &Path) -> Result<PathBuf> {
    Ok(std::env::current_dir()?.join(path))
}

/// Each edge function (the URL and the folder under `functions/`) and the crate behind
/// it: `inventory-operations` is built from `inventory-ops`.
fn functions(root: &Path) -> Result<Vec<(String, String)>> {
    let path = root.join(FUNCTIONS_CONFIG);
    let config =
        fs::read_to_string(&path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    let functions: Vec<(String, String)> = config
        .lines()
        .filter_map(|line| line.trim().strip_prefix("[functions.")?.strip_suffix(']'))
        .map(|name| {
            let krate = format!("{}-ops", name.strip_suffix("-operations").unwrap_or(name));
            (name.to_string(), krate)
        })
        .collect();
    if functions.is_empty() {
        return Err(format!("no [functions.<name>] section in {}", path.display()).into());
    }
    Ok(functions)
}

fn build_wasm(opts: &BuildOptions) -> Result<()> {
    let root = repo_root();
    let bindgen_version = check_wasm_bindgen_pin(&root.join("Cargo.lock"))?;
    let wasm_opt = wasm_opt_program(&root);
    let wasm_opt_version = tool_version(&wasm_opt)?;
    let functions = functions(&root)?;

    let started = Instant::now();
    cargo_build(&root, &functions, &opts.features)?;
    let compiled = started.elapsed();

    let target_dir = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| root.join("target"));
    let artifacts = target_dir.join("wasm32-unknown-unknown/release");

    println!("wasm-opt: {wasm_opt_version}");
    println!(
        "{:<22} {:>13} {:>10} {:>10}",
        "module", "raw bytes", "raw", "gzip"
    );
    let mut over_budget = Vec::new();
    let mut modules = Vec::new();
    let mut rebuilt = Vec::new();
    for (function, krate) in &functions {
        let stem = krate.replace('-', "_");
        let pkg = opts.out_dir.join(function).join("pkg");
        let input = artifacts.join(format!("{stem}.wasm"));
        let module = pkg.join(format!("{stem}_bg.wasm"));
        let stamp = build_stamp(&input, &bindgen_version, &wasm_opt_version)?;
        modules.push(module.clone());
        if is_current(&pkg, &stem, &stamp) {
            continue;
        }
        generate_bindings(&input, &pkg)?;
        rebuilt.push((module, pkg, stamp));
    }
    // wasm-opt is single-threaded (npm's binaryen runs as wasm under node): one per module.
    std::thread::scope(|scope| {
        let runs: Vec<_> = rebuilt
            .iter()
            .map(|(module, _, _)| {
                scope.spawn(|| optimize(&wasm_opt, module).map_err(|e| e.to_string()))
            })
            .collect();
        runs.into_iter().try_for_each(|run| {
            run.join()
                .map_err(|_| "wasm-opt thread panicked".to_string())?
        })
    })?;
    // Only once the module is complete: an interrupted build is redone next time.
    for (_, pkg, stamp) in &rebuilt {
        fs::write(pkg.join(STAMP_FILE), stamp)?;
    }
    if rebuilt.is_empty() {
        println!("(inputs unchanged: wasm-bindgen and wasm-opt skipped)");
    }
    for module in &modules {
        let raw = fs::metadata(module)?.len();
        let gzip = gzip_len(&fs::read(module)?)?;
        let file_name = module.file_name().unwrap_or_default().to_string_lossy();
        println!(
            "{file_name:<22} {:>13} {:>10} {:>10}",
            bytes(raw),
            kib(raw),
            kib(gzip)
        );
        over_budget.extend(budget_excess(module, raw));
    }
    println!("budget: {} bytes per module", bytes(MAX_MODULE_BYTES));
    println!(
        "built in {:.1}s (cargo {:.1}s) into {}",
        started.elapsed().as_secs_f64(),
        compiled.as_secs_f64(),
        opts.out_dir.display()
    );
    if over_budget.is_empty() {
        Ok(())
    } else {
        Err(format!(
            "modules over the size budget of {} bytes:\n  {}",
            bytes(MAX_MODULE_BYTES),
            over_budget.join("\n  ")
        )
        .into())
    }
}

/// Why `module` of `raw` bytes is over [`MAX_MODULE_BYTES`], if it is.
fn budget_excess(module: &Path, raw: u64) -> Option<String> {
    (raw > MAX_MODULE_BYTES).then(|| {
        format!(
            "{} is {} bytes ({}): {} bytes over",
            module.display(),
            bytes(raw),
            kib(raw),
            bytes(raw - MAX_MODULE_BYTES)
        )
    })
}

/// What a module is made from: cargo's output (by content, as cargo rewrites it only
/// when relinking but a hash cannot be fooled by timestamps), the wasm-bindgen version
/// and the wasm-opt version. Features change cargo's output, so they are covered.
fn build_stamp(input: &Path, bindgen_version: &str, wasm_opt_version: &str) -> Result<String> {
    let bytes = fs::read(input).map_err(|e| format!("cannot read {}: {e}", input.display()))?;
    let mut crc = flate2::Crc::new();
    crc.update(&bytes);
    Ok(format!(
        "input crc32 {:08x}, {} bytes\nwasm-bindgen {bindgen_version}\nwasm-opt {wasm_opt_version}\n",
        crc.sum(),
        bytes.len()
    ))
}

/// `pkg/` holds a complete module built from the inputs `stamp` describes.
fn is_current(pkg: &Path, stem: &str, stamp: &str) -> bool {
    let complete = [
        format!("{stem}_bg.wasm"),
        format!("{stem}.js"),
        format!("{stem}.d.ts"),
    ]
    .iter()
    .all(|file| pkg.join(file).is_file());
    complete && fs::read_to_string(pkg.join(STAMP_FILE)).is_ok_and(|written| written == stamp)
}

/// The wasm-bindgen glue is only compatible with modules built against the very same
/// `wasm-bindgen` crate version; a mismatch fails at runtime in odd ways, so refuse early.
/// Returns that version.
fn check_wasm_bindgen_pin(lock_path: &Path) -> Result<String> {
    let lock = fs::read_to_string(lock_path)
        .map_err(|e| format!("cannot read {}: {e}", lock_path.display()))?;
    let runtime = locked_versions(&lock, "wasm-bindgen");
    let cli = locked_versions(&lock, "wasm-bindgen-cli-support");
    match (runtime.as_slice(), cli.as_slice()) {
        ([runtime], [cli]) if runtime == cli => Ok(runtime.clone()),
        _ => Err(format!(
            "Cargo.lock must hold exactly one wasm-bindgen and the same wasm-bindgen-cli-support \
             version (both pinned with `=` in [workspace.dependencies]); found wasm-bindgen {runtime:?}, \
             wasm-bindgen-cli-support {cli:?}"
        )
        .into()),
    }
}

/// Versions of `name` in a Cargo.lock (`[[package]]` tables start with `name`, then `version`).
fn locked_versions(lock: &str, name: &str) -> Vec<String> {
    let name_line = format!("name = \"{name}\"");
    let mut lines = lock.lines();
    let mut versions = Vec::new();
    while let Some(line) = lines.next() {
        if line == name_line {
            if let Some(version) = lines
                .next()
                .and_then(|l| l.strip_prefix("version = \""))
                .and_then(|l| l.strip_suffix('"'))
            {
                versions.push(version.to_string());
            }
        }
    }
    versions
}

/// `$WASM_OPT`, else binaryen from npm in `node_modules` (pinned in package.json),
/// else `wasm-opt` on PATH. Every result is checked by [`export_signature`].
fn wasm_opt_program(root: &Path) -> String {
    if let Ok(program) = std::env::var("WASM_OPT") {
        return program;
    }
    let npm = root.join("node_modules/.bin/wasm-opt");
    if npm.exists() {
        npm.to_string_lossy().into_owned()
    } else {
        "wasm-opt".into()
    }
}

fn tool_version(program: &str) -> Result<String> {
    let output = Command::new(program)
        .arg("--version")
        .output()
        .map_err(|e| {
            format!("cannot run `{program} --version` ({e}); install binaryen or set WASM_OPT")
        })?;
    Ok(String::from_utf8_lossy(&output.stdout).trim().to_string())
}

fn cargo_build(root: &Path, functions: &[(String, String)], features: &[String]) -> Result<()> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let mut cmd = Command::new(cargo);
    cmd.current_dir(root)
        .args(["build", "--release", "--target", "wasm32-unknown-unknown"])
        // wasm-bindgen reads the `target_features` section to pick externref glue;
        // `strip = true` would drop it. wasm-bindgen and wasm-opt strip the rest.
        .env("CARGO_PROFILE_RELEASE_STRIP", "false");
    for (_, krate) in functions {
        cmd.args(["--package", krate]);
    }
    if !features.is_empty() {
        let qualified: Vec<String> = functions
            .iter()
            .flat_map(|(_, krate)| features.iter().map(move |f| format!("{krate}/{f}")))
            .collect();
        cmd.args(["--features", &qualified.join(",")]);
    }
    run(&mut cmd)
}

fn generate_bindings(input: &Path, pkg: &Path) -> Result<()> {
    // Start from an empty pkg/ so no stale module from an older build can be deployed.
    if pkg.exists() {
        fs::remove_dir_all(pkg)?;
    }
    fs::create_dir_all(pkg)?;
    Bindgen::new()
        .input_path(input)
        .web(true)?
        .typescript(true)
        // Exposes `__wbg_reset_state()`: after a trap the shim gets a fresh instance.
        .reset_state_function(true)
        .remove_name_section(true)
        .remove_producers_section(true)
        .generate(pkg)
        .map_err(|e| format!("wasm-bindgen on {}: {e:#}", input.display()))?;
    Ok(())
}

fn optimize(wasm_opt: &str, module: &Path) -> Result<()> {
    let optimized = module.with_extension("opt.wasm");
    run(Command::new(wasm_opt)
        .arg(module)
        .arg("-Oz")
        .args(WASM_OPT_FEATURES)
        .args(["--strip-debug", "--strip-producers", "-o"])
        .arg(&optimized))?;
    let before = export_signature(&fs::read(module)?)?;
    let after = export_signature(&fs::read(&optimized)?)?;
    if before != after {
        return Err(format!(
            "{wasm_opt} changed the exports of {} (known binaryen bug, e.g. Debian's 108: the \
             externref table export is rebound to the funcref table and the glue fails at init); \
             use binaryen >= 132 from npm (`node_modules/.bin/wasm-opt`) or set WASM_OPT\n  \
             before: {before:?}\n  after:  {after:?}",
            module.display()
        )
        .into());
    }
    fs::rename(&optimized, module)?;
    Ok(())
}

/// Each export's name, kind and, for tables, element type. The JS glue relies on all
/// of them; an optimizer must keep them unchanged.
fn export_signature(module: &[u8]) -> Result<Vec<String>> {
    use wasmparser::{ExternalKind, Parser, Payload, TypeRef};
    let mut tables = Vec::new();
    let mut exports = Vec::new();
    for payload in Parser::new(0).parse_all(module) {
        match payload? {
            Payload::ImportSection(imports) => {
                for import in imports.into_imports() {
                    if let TypeRef::Table(table) = import?.ty {
                        tables.push(table.element_type);
                    }
                }
            }
            Payload::TableSection(section) => {
                for table in section {
                    tables.push(table?.ty.element_type);
                }
            }
            Payload::ExportSection(section) => {
                for export in section {
                    let export = export?;
                    let detail = match export.kind {
                        ExternalKind::Table => tables
                            .get(export.index as usize)
                            .map_or_else(|| "missing table".to_string(), |ty| format!("{ty}")),
                        kind => format!("{kind:?}"),
                    };
                    exports.push(format!("{} {detail}", export.name));
                }
            }
            _ => {}
        }
    }
    exports.sort();
    Ok(exports)
}

fn run(cmd: &mut Command) -> Result<()> {
    let status = cmd
        .status()
        .map_err(|e| format!("cannot start {:?}: {e}", cmd.get_program()))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("{cmd:?} failed ({status})").into())
    }
}

fn gzip_len(bytes: &[u8]) -> Result<u64> {
    let mut encoder = GzEncoder::new(Vec::new(), Compression::best());
    encoder.write_all(bytes)?;
    Ok(encoder.finish()?.len() as u64)
}

fn kib(bytes: u64) -> String {
    format!("{:.1} KiB", bytes as f64 / 1024.0)
}

/// `343611` as `343,611`.
fn bytes(count: u64) -> String {
    let digits = count.to_string();
    let mut grouped = String::new();
    for (i, digit) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            grouped.push(',');
        }
        grouped.push(digit);
    }
    grouped
}

#[cfg(test)]
mod tests {
    use super::*;

    const LOCK: &str = "\
[[package]]
name = \"wasm-bindgen\"
version = \"0.2.130\"
source = \"registry+https://github.com/rust-lang/crates.io-index\"

[[package]]
name = \"wasm-bindgen-cli-support\"
version = \"0.2.130\"
";

    fn check(lock: &str) -> Result<String> {
        // Tests run in parallel: each call gets its own file.
        static NEXT_FILE: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        let dir = std::env::temp_dir().join(format!("xtask-lock-{}", std::process::id()));
        fs::create_dir_all(&dir)?;
        let file = NEXT_FILE.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let path = dir.join(format!("Cargo.lock.{file}"));
        fs::write(&path, lock)?;
        let result = check_wasm_bindgen_pin(&path);
        fs::remove_file(&path)?;
        result
    }

    #[test]
    fn matching_pins_pass() {
        assert!(check(LOCK).is_ok());
    }

    #[test]
    fn a_different_runtime_version_fails() {
        let lock = LOCK.replacen("0.2.130", "0.2.129", 1);
        let err = check(&lock).expect_err("mismatch must fail").to_string();
        assert!(err.contains("0.2.129"), "{err}");
    }

    #[test]
    fn two_runtime_versions_fail() {
        let lock = format!("{LOCK}\n[[package]]\nname = \"wasm-bindgen\"\nversion = \"0.2.100\"\n");
        assert!(check(&lock).is_err());
    }

    #[test]
    fn functions_come_from_supabase_config_toml() -> Result<()> {
        let functions = functions(&repo_root())?;
        assert!(functions.contains(&("inventory-operations".into(), "inventory-ops".into())));
        for (_, krate) in &functions {
            assert!(repo_root()
                .join("crates")
                .join(krate)
                .join("Cargo.toml")
                .is_file());
        }
        Ok(())
    }

    #[test]
    fn a_module_is_current_only_with_its_files_and_the_same_stamp() -> Result<()> {
        let dir = std::env::temp_dir().join(format!("xtask-stamp-{}", std::process::id()));
        let pkg = dir.join("pkg");
        fs::create_dir_all(&pkg)?;
        let input = dir.join("m.wasm");
        fs::write(&input, b"\0asm one")?;
        let stamp = build_stamp(&input, "0.2.130", "wasm-opt version 132")?;
        for file in ["m_bg.wasm", "m.js", "m.d.ts"] {
            fs::write(pkg.join(file), b"")?;
        }
        assert!(!is_current(&pkg, "m", &stamp), "no stamp yet");
        fs::write(pkg.join(STAMP_FILE), &stamp)?;
        assert!(is_current(&pkg, "m", &stamp));

        fs::write(&input, b"\0asm two")?;
        let changed = build_stamp(&input, "0.2.130", "wasm-opt version 132")?;
        assert!(!is_current(&pkg, "m", &changed), "input changed");
        let other_opt = build_stamp(&input, "0.2.130", "wasm-opt version 133")?;
        assert_ne!(changed, other_opt, "wasm-opt version is part of the stamp");

        fs::remove_file(pkg.join("m.js"))?;
        assert!(!is_current(&pkg, "m", &stamp), "a file is missing");
        fs::remove_dir_all(&dir)?;
        Ok(())
    }

    #[test]
    fn the_budget_is_300_000_bytes() {
        let module = Path::new("pkg/admin_ops_bg.wasm");
        assert_eq!(budget_excess(module, 300_000), None);
        assert_eq!(
            budget_excess(module, 343_611).as_deref(),
            Some("pkg/admin_ops_bg.wasm is 343,611 bytes (335.6 KiB): 43,611 bytes over")
        );
        assert_eq!(bytes(999), "999");
        assert_eq!(bytes(1_000), "1,000");
        assert_eq!(bytes(300_000), "300,000");
    }

    #[test]
    fn parses_features_and_out_dir() -> Result<()> {
        let args = ["--features", "fault-injection, x", "--out-dir", "/tmp/out"].map(String::from);
        let opts = BuildOptions::parse(&args)?;
        assert_eq!(opts.features, ["fault-injection", "x"]);
        assert_eq!(opts.out_dir, Path::new("/tmp/out"));
        assert!(BuildOptions::parse(&["--bogus".to_string()]).is_err());
        assert!(BuildOptions::parse(&["--out-dir".to_string()]).is_err());
        Ok(())
    }
}
