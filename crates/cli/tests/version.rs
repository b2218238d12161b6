use std::process::Command;

fn oomlab(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_oomlab"))
        .args(args)
        .output()
        .expect("run oomlab")
}

#[test]
fn version_names_the_model_version() {
    let out = oomlab(&["--version"]);
    assert!(out.status.success());
    let stdout = String::from_utf8(out.stdout).unwrap();
    let expected = format!(
        "oomlab {} (model version {})",
        env!("CARGO_PKG_VERSION"),
        oomlab_core::MODEL_VERSION
    );
    assert_eq!(stdout.trim(), expected);
}

#[test]
fn unknown_flag_is_a_usage_error() {
    let out = oomlab(&["--no-such-flag"]);
    assert_eq!(out.status.code(), Some(2));
}
