//! report.html in a real browser: headless Chromium loads it from the file system with no
//! console errors, and a screenshot shows the charts.
//!
//! Needs `/usr/bin/chromium` (Debian's `chromium`), so it is ignored by a plain `cargo test` on a
//! machine with only the Rust toolchain. `.ci/run` installs Chromium and runs it with
//! `--include-ignored`; there it fails when the browser is missing, so it cannot pass by not
//! running.

use std::path::Path;
use std::process::Command;

fn chromium() -> Option<&'static str> {
    ["/usr/bin/chromium", "/usr/bin/chromium-browser"]
        .into_iter()
        .find(|p| Path::new(p).exists())
}

fn headless(dir: &Path) -> Command {
    let mut cmd = Command::new(chromium().expect("chromium installed"));
    cmd.args([
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--enable-logging=stderr",
        "--v=0",
    ])
    .arg(format!("--user-data-dir={}", dir.join("profile").display()));
    cmd
}

#[test]
#[ignore = "needs Debian's chromium; .ci/run installs it and runs this with --include-ignored"]
fn report_loads_in_chromium_without_console_errors() {
    assert!(
        chromium().is_some(),
        "chromium is needed (apt-get install chromium)"
    );
    let dir = tempfile::tempdir().expect("temp dir");
    let status = assert_cmd::Command::cargo_bin("alliance-sim")
        .expect("binary")
        .args(["run", "--runs", "2000", "-q", "--no-runs-csv", "--out"])
        .arg(dir.path())
        .output()
        .expect("run");
    assert!(
        status.status.success(),
        "{}",
        String::from_utf8_lossy(&status.stderr)
    );
    let report = dir.path().join("gsomia_2019/report.html");
    assert!(report.exists(), "report.html written");
    let url = format!("file://{}", report.display());

    let dom = headless(dir.path())
        .arg("--dump-dom")
        .arg(&url)
        .output()
        .expect("chromium runs");
    let page = String::from_utf8_lossy(&dom.stdout);
    let log = String::from_utf8_lossy(&dom.stderr);
    assert!(page.contains("<svg"), "the page holds inline SVG charts");
    assert!(
        page.matches("<svg").count() >= 5,
        "every chart is on the page"
    );
    let console_errors: Vec<&str> = log
        .lines()
        .filter(|l| {
            l.contains("CONSOLE") || l.contains("Uncaught") || l.contains("ERR_FILE_NOT_FOUND")
        })
        .collect();
    assert!(
        console_errors.is_empty(),
        "console errors: {console_errors:#?}"
    );

    let shot = dir.path().join("shot.png");
    let out = headless(dir.path())
        .arg(format!("--screenshot={}", shot.display()))
        .arg("--window-size=1280,7000")
        .arg(&url)
        .output()
        .expect("chromium runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let png = std::fs::read(&shot).expect("screenshot written");
    assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n");
    // A page of charts is far from blank: a white page compresses to a few kilobytes.
    assert!(
        png.len() > 50_000,
        "screenshot is {} bytes, looks blank",
        png.len()
    );
    if let Some(keep) = std::env::var_os("ALLIANCE_SIM_KEEP_SCREENSHOT") {
        std::fs::copy(&shot, keep).expect("copy screenshot");
    }
}

#[test]
#[ignore = "needs Debian's chromium; .ci/run installs it and runs this with --include-ignored"]
fn the_finding_and_the_source_links_render_and_the_page_prints() {
    assert!(
        chromium().is_some(),
        "chromium is needed (apt-get install chromium)"
    );
    let dir = tempfile::tempdir().expect("temp dir");
    let status = assert_cmd::Command::cargo_bin("alliance-sim")
        .expect("binary")
        .args(["run", "--runs", "2000", "-q", "--no-runs-csv", "--out"])
        .arg(dir.path())
        .output()
        .expect("run");
    assert!(status.status.success());
    let report = dir.path().join("gsomia_2019/report.html");
    let url = format!("file://{}", report.display());

    // The DOM as the browser parsed it: the finding is an element with its sentences, and
    // each source address an anchor that sends no referrer.
    let dom = headless(dir.path())
        .arg("--dump-dom")
        .arg(&url)
        .output()
        .expect("chromium runs");
    let page = String::from_utf8_lossy(&dom.stdout);
    let start = page
        .find("<section id=\"finding\" class=\"finding\">")
        .expect("the finding is on the page");
    let finding = &page[start..start + page[start..].find("</section>").expect("closed")];
    assert!(finding.contains("The most likely outcome is"), "{finding}");
    assert!(finding.contains("What moves"), "{finding}");
    assert!(finding.contains("Monte Carlo error only"), "{finding}");
    assert!(
        start < page.find("id=\"outcomes\"").expect("outcomes"),
        "the finding comes first"
    );
    let anchors = page
        .matches("<a href=\"https://m-en.yna.co.kr/view/AEN20191122001800325\" rel=\"noreferrer\">")
        .count();
    assert!(anchors >= 3, "source links in the parsed page ({anchors})");

    // Printing works: a PDF that holds the charts, not an error page.
    let pdf = dir.path().join("report.pdf");
    let out = headless(dir.path())
        .arg("--no-pdf-header-footer")
        .arg(format!("--print-to-pdf={}", pdf.display()))
        .arg(&url)
        .output()
        .expect("chromium runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let bytes = std::fs::read(&pdf).expect("pdf written");
    assert!(bytes.starts_with(b"%PDF-"), "a PDF");
    assert!(
        bytes.len() > 100_000,
        "the PDF holds the charts ({} bytes)",
        bytes.len()
    );
    if let Some(keep) = std::env::var_os("ALLIANCE_SIM_KEEP_PDF") {
        std::fs::copy(&pdf, keep).expect("copy pdf");
    }
}
