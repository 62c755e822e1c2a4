//! The code store: zips made by the `zip` crate, by Python's `zipfile` and by the `zip` CLI,
//! unpacked with their modes, and every refusal leaving nothing behind.

use std::fs;
use std::io::{Cursor, Write as _};
use std::os::unix::fs::{MetadataExt as _, PermissionsExt as _};
use std::path::{Path, PathBuf};
use std::process::Command;

use lab::control::code::{CodeError, CodeStore, Limits, ZIP_REQUEST_MAX, register_dir};
use protocol::lambda_api::error::{EMPTY_ZIP, LambdaErrorType, NOT_A_ZIP};
use zip::write::SimpleFileOptions;
use zip::{CompressionMethod, ZipWriter};

/// A store under `<tmp>/store`, so that a write beside it would show in `<tmp>`.
struct Fixture {
    tmp: tempfile::TempDir,
    store: CodeStore,
}

impl Fixture {
    fn new() -> Self {
        Self::with_limits(Limits::default())
    }

    fn with_limits(limits: Limits) -> Self {
        let tmp = tempfile::tempdir().expect("tempdir");
        let store = CodeStore::with_limits(tmp.path().join("store"), limits).expect("store");
        Self { tmp, store }
    }

    /// Asserts that the store holds nothing and nothing was written beside it.
    fn assert_untouched(&self) {
        let beside: Vec<_> = names(self.tmp.path());
        assert_eq!(beside, ["store"], "written outside the store");
        assert!(
            names(self.store.root()).is_empty(),
            "left behind: {:?}",
            names(self.store.root())
        );
    }

    fn refuse(&self, zip: &[u8]) -> CodeError {
        let error = self.store.unpack_zip(zip).expect_err("refused");
        self.assert_untouched();
        error
    }
}

fn names(dir: &Path) -> Vec<String> {
    let mut names: Vec<_> = fs::read_dir(dir)
        .expect("read_dir")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

fn mode(path: &Path) -> u32 {
    fs::symlink_metadata(path)
        .expect("metadata")
        .permissions()
        .mode()
        & 0o7777
}

fn options(mode: u32) -> SimpleFileOptions {
    SimpleFileOptions::default()
        .compression_method(CompressionMethod::Deflated)
        .unix_permissions(mode)
}

/// A zip written by the `zip` crate: `(name, mode, contents)`; a name ending in `/` is a
/// directory, contents starting with `->` a symlink.
fn crate_zip(entries: &[(&str, u32, &str)]) -> Vec<u8> {
    let mut writer = ZipWriter::new(Cursor::new(Vec::new()));
    for (name, mode, contents) in entries {
        if name.ends_with('/') {
            writer.add_directory(*name, options(*mode)).expect("dir");
        } else if let Some(target) = contents.strip_prefix("->") {
            writer
                .add_symlink(*name, target, options(*mode))
                .expect("link");
        } else {
            writer.start_file(*name, options(*mode)).expect("file");
            writer.write_all(contents.as_bytes()).expect("write");
        }
    }
    writer.finish().expect("finish").into_inner()
}

/// A zip written by Python's `zipfile`: `body` uses `z` (a `ZipFile`) and `ZipInfo`.
fn python_zip(body: &str) -> Vec<u8> {
    let script = format!(
        "import io, sys, zipfile\nfrom zipfile import ZipInfo\nb = io.BytesIO()\n\
         with zipfile.ZipFile(b, 'w', zipfile.ZIP_DEFLATED) as z:\n{}\nsys.stdout.buffer.write(b.getvalue())\n",
        body.lines()
            .map(|l| format!("    {l}\n"))
            .collect::<String>()
    );
    let out = Command::new("python3")
        .args(["-c", &script])
        .output()
        .expect("python3");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

/// `CodeSha256` computed by another implementation (Python's hashlib).
fn python_sha256_b64(bytes: &[u8], dir: &Path) -> String {
    let file = dir.join("sha-input");
    fs::write(&file, bytes).expect("write");
    let out = Command::new("python3")
        .args([
            "-c",
            "import base64,hashlib,sys; print(base64.b64encode(hashlib.sha256(open(sys.argv[1],'rb').read()).digest()).decode())",
        ])
        .arg(&file)
        .output()
        .expect("python3");
    fs::remove_file(&file).expect("remove");
    String::from_utf8(out.stdout)
        .expect("utf8")
        .trim()
        .to_owned()
}

fn assert_lambda(error: &CodeError, kind: LambdaErrorType, status: u16, message: &str) {
    let answer = error.lambda_error();
    assert_eq!(answer.kind, kind, "{error}");
    assert_eq!(answer.status(), status);
    assert!(
        answer.message.starts_with(message),
        "{:?} does not start with {message:?}",
        answer.message
    );
}

#[test]
fn crate_zip_keeps_modes_nested_dirs_and_inner_symlinks() {
    let fx = Fixture::new();
    let zip = crate_zip(&[
        ("bootstrap", 0o755, "#!/bin/sh\necho hi\n"),
        ("lib/", 0o750, ""),
        (
            "lib/deep/handler.py",
            0o640,
            "def handler(e, c): return e\n",
        ),
        ("lib/current", 0o777, "->deep/handler.py"),
        ("up", 0o777, "->lib/deep/../deep"),
    ]);
    let code = fx.store.unpack_zip(&zip).expect("unpacked");
    let checkout = tempfile::tempdir().expect("tempdir");
    assert_eq!(code.sha256, python_sha256_b64(&zip, checkout.path()));
    assert_eq!(code.size, zip.len() as u64);
    assert!(code.dir.starts_with(fx.store.root()));
    assert_eq!(mode(&code.dir), 0o755);
    assert_eq!(mode(&code.dir.join("bootstrap")), 0o755);
    assert_eq!(mode(&code.dir.join("lib")), 0o750);
    assert_eq!(mode(&code.dir.join("lib/deep/handler.py")), 0o640);
    assert_eq!(
        fs::read_to_string(code.dir.join("lib/current")).expect("through the link"),
        "def handler(e, c): return e\n"
    );
    assert_eq!(
        fs::read_link(code.dir.join("lib/current")).expect("link"),
        PathBuf::from("deep/handler.py")
    );
    let out = Command::new(code.dir.join("bootstrap"))
        .output()
        .expect("runs");
    assert_eq!(out.stdout, b"hi\n");
    assert_eq!(names(fx.store.root()).len(), 1, "no staging dir left");
}

#[test]
fn the_same_zip_is_unpacked_once_and_another_gets_its_own_dir() {
    let fx = Fixture::new();
    let zip = crate_zip(&[("index.py", 0o644, "v1")]);
    let first = fx.store.unpack_zip(&zip).expect("first");
    let inode = fs::metadata(first.dir.join("index.py"))
        .expect("meta")
        .ino();
    let again = fx.store.unpack_zip(&zip).expect("again");
    assert_eq!(again, first);
    assert_eq!(
        fs::metadata(again.dir.join("index.py"))
            .expect("meta")
            .ino(),
        inode,
        "reused, not unpacked again"
    );
    let other = fx
        .store
        .unpack_zip(&crate_zip(&[("index.py", 0o644, "v2")]))
        .expect("other");
    assert_ne!(other.dir, first.dir);
    assert_ne!(other.sha256, first.sha256);
    assert_eq!(
        fs::read_to_string(first.dir.join("index.py")).unwrap(),
        "v1"
    );
    assert_eq!(
        fs::read_to_string(other.dir.join("index.py")).unwrap(),
        "v2"
    );
}

#[test]
fn python_zip_modes_are_kept_as_written() {
    let fx = Fixture::new();
    // `writestr` with a bare `ZipInfo` writes 0600; an explicit mode is kept.
    let zip = python_zip(
        "z.writestr(ZipInfo('pkg/mod.py'), 'x = 1')\n\
         i = ZipInfo('run'); i.external_attr = 0o100755 << 16; z.writestr(i, 'echo')",
    );
    let code = fx.store.unpack_zip(&zip).expect("unpacked");
    assert_eq!(mode(&code.dir.join("pkg")), 0o755, "implied directory");
    assert_eq!(mode(&code.dir.join("pkg/mod.py")), 0o600);
    assert_eq!(mode(&code.dir.join("run")), 0o755);
}

/// Rewrites every central directory entry as made by `host` (0 MS-DOS, 3 Unix) with external
/// attributes `attributes`.
fn set_external_attributes(zip: &mut [u8], host: u8, attributes: u32) {
    let mut at = 0;
    while at + 4 <= zip.len() {
        if &zip[at..at + 4] == b"PK\x01\x02" {
            zip[at + 5] = host;
            zip[at + 38..at + 42].copy_from_slice(&attributes.to_le_bytes());
        }
        at += 1;
    }
}

#[test]
fn entries_without_modes_get_0644_files_and_0755_dirs() {
    let fx = Fixture::new();
    let mut zip = crate_zip(&[("pkg/", 0o700, ""), ("pkg/mod.py", 0o600, "x")]);
    set_external_attributes(&mut zip, 3, 0);
    let code = fx.store.unpack_zip(&zip).expect("unpacked");
    assert_eq!(mode(&code.dir.join("pkg")), 0o755);
    assert_eq!(mode(&code.dir.join("pkg/mod.py")), 0o644);
}

#[test]
fn entries_made_on_ms_dos_get_modes_from_their_attributes() {
    let fx = Fixture::new();
    let mut zip = crate_zip(&[("bootstrap", 0o755, "x")]);
    // The archive bit only, as Windows tools write it: no executable bit survives.
    set_external_attributes(&mut zip, 0, 0x20);
    let code = fx.store.unpack_zip(&zip).expect("unpacked");
    assert_eq!(mode(&code.dir.join("bootstrap")), 0o664);
}

#[test]
fn zip_cli_package_with_executable_and_symlinks() {
    let fx = Fixture::new();
    let src = tempfile::tempdir().expect("tempdir");
    fs::create_dir_all(src.path().join("fn/node_modules/.bin")).unwrap();
    fs::write(src.path().join("fn/bootstrap"), "#!/bin/sh\n").unwrap();
    fs::set_permissions(
        src.path().join("fn/bootstrap"),
        fs::Permissions::from_mode(0o755),
    )
    .unwrap();
    fs::write(src.path().join("fn/node_modules/tool.js"), "//").unwrap();
    fs::set_permissions(
        src.path().join("fn/node_modules/tool.js"),
        fs::Permissions::from_mode(0o644),
    )
    .unwrap();
    std::os::unix::fs::symlink("../tool.js", src.path().join("fn/node_modules/.bin/tool")).unwrap();
    let status = Command::new("zip")
        .current_dir(src.path().join("fn"))
        .args(["-q", "-r", "-y", "../code.zip", "."])
        .status()
        .expect("the zip CLI (apt-get install zip)");
    assert!(status.success());
    let zip = fs::read(src.path().join("code.zip")).unwrap();
    let code = fx.store.unpack_zip(&zip).expect("unpacked");
    assert_eq!(mode(&code.dir.join("bootstrap")), 0o755);
    assert_eq!(mode(&code.dir.join("node_modules/tool.js")), 0o644);
    assert_eq!(
        fs::read_link(code.dir.join("node_modules/.bin/tool")).unwrap(),
        PathBuf::from("../tool.js")
    );
    assert_eq!(
        fs::read_to_string(code.dir.join("node_modules/.bin/tool")).unwrap(),
        "//"
    );
}

#[test]
fn not_a_zip_is_refused_as_lambda_refuses_it() {
    let fx = Fixture::new();
    for bytes in [&b""[..], b"PK\x03\x04 not really", b"hello world"] {
        let error = fx.refuse(bytes);
        assert!(matches!(error, CodeError::NotAZip { .. }), "{error}");
        assert_lambda(
            &error,
            LambdaErrorType::InvalidParameterValue,
            400,
            NOT_A_ZIP,
        );
    }
}

#[test]
fn an_entry_whose_data_is_corrupt_is_not_a_zip_and_leaves_nothing() {
    let fx = Fixture::new();
    let mut zip = crate_zip(&[("a.txt", 0o644, &"abc".repeat(1000))]);
    // Flip bytes inside the compressed data (after the 30-byte local header and the name).
    for b in &mut zip[40..60] {
        *b ^= 0xff;
    }
    let error = fx.refuse(&zip);
    assert!(matches!(error, CodeError::NotAZip { .. }), "{error}");
}

#[test]
fn empty_zips_are_refused() {
    let fx = Fixture::new();
    for zip in [crate_zip(&[]), python_zip("pass")] {
        let error = fx.refuse(&zip);
        assert!(matches!(error, CodeError::EmptyZip), "{error}");
        assert_lambda(
            &error,
            LambdaErrorType::InvalidParameterValue,
            400,
            EMPTY_ZIP,
        );
    }
}

#[test]
fn entries_escaping_the_package_are_refused_and_nothing_is_written() {
    let fx = Fixture::new();
    let cases = [
        (
            "parent",
            python_zip("z.writestr('ok.txt', 'ok')\nz.writestr('../x', 'out')"),
        ),
        (
            "nested parent",
            python_zip("z.writestr('a/../../x', 'out')"),
        ),
        (
            "absolute",
            python_zip("z.writestr(ZipInfo('/tmp/x'), 'out')"),
        ),
        (
            "link up",
            crate_zip(&[("ok.txt", 0o644, "ok"), ("l", 0o777, "->../x")]),
        ),
        ("link absolute", crate_zip(&[("l", 0o777, "->/etc/passwd")])),
        (
            "link chain",
            crate_zip(&[
                ("d/", 0o755, ""),
                ("d/r", 0o777, "->.."),
                ("a", 0o777, "->d/r/../.."),
            ]),
        ),
        (
            "write through link",
            crate_zip(&[
                ("sub/", 0o755, ""),
                ("l", 0o777, "->sub"),
                ("l/f", 0o644, "x"),
            ]),
        ),
        (
            "link loop",
            crate_zip(&[("a", 0o777, "->b"), ("b", 0o777, "->a/x")]),
        ),
    ];
    for (case, zip) in cases {
        let error = fx.refuse(&zip);
        assert!(
            matches!(error, CodeError::Escapes { .. }),
            "{case}: {error}"
        );
        assert_lambda(
            &error,
            LambdaErrorType::InvalidParameterValue,
            400,
            NOT_A_ZIP,
        );
        assert!(error.lambda_error().message.contains("entry `"), "{case}");
    }
}

#[test]
fn a_file_and_a_directory_of_the_same_name_are_refused() {
    let fx = Fixture::new();
    for zip in [
        python_zip("z.writestr('a', '1')\nz.writestr('a/b', '2')"),
        python_zip("z.writestr('a', '1')\nz.writestr(ZipInfo('a/'), '')"),
    ] {
        let error = fx.refuse(&zip);
        assert!(matches!(error, CodeError::Duplicate { .. }), "{error}");
        assert_lambda(
            &error,
            LambdaErrorType::InvalidParameterValue,
            400,
            NOT_A_ZIP,
        );
    }
}

#[test]
fn a_zip_over_the_direct_upload_limit_is_refused_with_the_request_size() {
    let zip = crate_zip(&[("a.txt", 0o644, &"x".repeat(10_000))]);
    let fx = Fixture::with_limits(Limits {
        zipped: zip.len() as u64 - 1,
        unzipped: 1 << 20,
    });
    let error = fx.refuse(&zip);
    assert!(matches!(error, CodeError::ZipTooLarge { .. }), "{error}");
    let limit = (zip.len() as u64 - 1) * 4;
    let answer = error.lambda_error_for("UpdateFunctionCode");
    assert_eq!(answer.kind, LambdaErrorType::RequestEntityTooLarge);
    assert_eq!(answer.status(), 413);
    assert_eq!(
        answer.message,
        format!(
            "Request must be smaller than {} bytes for the UpdateFunctionCode operation",
            limit.div_ceil(3)
        )
    );
    // Lambda's own figure for its 50 MB quota.
    assert_eq!(ZIP_REQUEST_MAX, 69_905_067);
}

#[test]
fn unzipped_size_over_the_limit_is_refused() {
    let limit = 1 << 20;
    let fx = Fixture::with_limits(Limits {
        zipped: 1 << 20,
        unzipped: limit,
    });
    let zip = crate_zip(&[
        ("a", 0o644, &"a".repeat(600_000)),
        ("b", 0o644, &"b".repeat(600_000)),
    ]);
    let error = fx.refuse(&zip);
    assert!(
        matches!(error, CodeError::UnzippedTooLarge { .. }),
        "{error}"
    );
    assert_lambda(
        &error,
        LambdaErrorType::InvalidParameterValue,
        400,
        &format!("Unzipped size must be smaller than {limit} bytes"),
    );
}

/// Sets every entry's uncompressed size, in the local headers and the central directory, to
/// `size`: a zip bomb whose headers lie.
fn lie_about_sizes(zip: &mut [u8], size: u32) {
    let mut at = 0;
    while at + 4 <= zip.len() {
        match &zip[at..at + 4] {
            b"PK\x03\x04" => zip[at + 22..at + 26].copy_from_slice(&size.to_le_bytes()),
            b"PK\x01\x02" => zip[at + 24..at + 28].copy_from_slice(&size.to_le_bytes()),
            _ => {}
        }
        at += 1;
    }
}

#[test]
fn a_zip_bomb_with_lying_headers_is_stopped_while_inflating() {
    let limit: u64 = 1 << 20;
    let fx = Fixture::with_limits(Limits {
        zipped: 1 << 20,
        unzipped: limit,
    });
    // 8 MiB of zeros deflate to a few KiB; the headers claim 10 bytes.
    let mut zip = crate_zip(&[("bomb", 0o644, &"\0".repeat(8 << 20))]);
    assert!(zip.len() < 64 * 1024);
    lie_about_sizes(&mut zip, 10);
    let error = fx.refuse(&zip);
    assert!(
        matches!(error, CodeError::UnzippedTooLarge { .. }),
        "{error}"
    );
}

#[test]
fn a_zip_under_the_limits_with_several_entries_fits_exactly() {
    let fx = Fixture::with_limits(Limits {
        zipped: 1 << 20,
        unzipped: 1000,
    });
    let zip = crate_zip(&[
        ("a", 0o644, &"a".repeat(500)),
        ("b", 0o644, &"b".repeat(500)),
    ]);
    let code = fx.store.unpack_zip(&zip).expect("exactly at the limit");
    assert_eq!(fs::metadata(code.dir.join("b")).unwrap().len(), 500);
}

#[test]
fn leftovers_of_an_interrupted_unpack_are_removed_on_open() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("store");
    fs::create_dir_all(root.join(".unpack-abc123/sub")).unwrap();
    fs::write(root.join(".unpack-abc123/sub/f"), "partial").unwrap();
    let store = CodeStore::open(&root).unwrap();
    assert!(names(store.root()).is_empty());
}

#[test]
fn register_dir_hashes_paths_modes_and_contents() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("fn");
    fs::create_dir_all(dir.join("lib")).unwrap();
    fs::write(dir.join("bootstrap"), "#!/bin/sh\n").unwrap();
    fs::set_permissions(dir.join("bootstrap"), fs::Permissions::from_mode(0o755)).unwrap();
    fs::write(dir.join("lib/a.py"), "abc").unwrap();
    std::os::unix::fs::symlink("a.py", dir.join("lib/b.py")).unwrap();
    let store = CodeStore::open(tmp.path().join("store")).unwrap();
    let first = store.register_dir(&dir).unwrap();
    assert_eq!(first.dir, fs::canonicalize(&dir).unwrap());
    assert_eq!(first.size, 10 + 3, "regular files only");
    assert_eq!(store.register_dir(&dir).unwrap(), first, "deterministic");
    assert!(
        names(store.root()).is_empty(),
        "kept in place, nothing copied"
    );

    fs::set_permissions(dir.join("bootstrap"), fs::Permissions::from_mode(0o644)).unwrap();
    let chmod = register_dir(&dir).unwrap();
    assert_ne!(chmod.sha256, first.sha256, "a mode change changes the hash");

    fs::write(dir.join("lib/a.py"), "abd").unwrap();
    let edit = register_dir(&dir).unwrap();
    assert_ne!(
        edit.sha256, chmod.sha256,
        "a content change changes the hash"
    );
    assert_eq!(edit.size, chmod.size);

    fs::rename(dir.join("lib/a.py"), dir.join("lib/c.py")).unwrap();
    assert_ne!(
        register_dir(&dir).unwrap().sha256,
        edit.sha256,
        "a rename too"
    );
}

#[test]
fn register_dir_refuses_a_missing_dir_naming_it_and_the_fix() {
    let tmp = tempfile::tempdir().unwrap();
    let missing = tmp.path().join("no-such-code");
    let error = register_dir(&missing).expect_err("missing");
    let text = error.to_string();
    assert!(text.contains(&missing.display().to_string()), "{text}");
    assert!(text.contains("give an existing directory"), "{text}");
    fs::write(&missing, "a file").unwrap();
    let error = register_dir(&missing).expect_err("a file");
    assert!(error.to_string().contains("not a directory"), "{error}");
    assert_eq!(
        error.lambda_error().kind,
        LambdaErrorType::InvalidParameterValue
    );
}
