//! Jobs against the real servers `scripts/test` starts: OpenSSH's sshd (SFTP) and pyftpdlib
//! (FTP with explicit TLS). Fetch and upload through `ferry run`, host keys refused until
//! trusted with `ferry connections trust`, and `ferry connections test`.

use ferry_tests::Sandbox;
use ferry_tests::peers::{Ftp, Sshd};

/// A name unique to this sandbox, for folders on the shared servers.
fn unique(sb: &Sandbox, what: &str) -> String {
    let tail = sb
        .path()
        .file_name()
        .unwrap()
        .to_string_lossy()
        .replace('.', "");
    format!("{what}-{tail}")
}

fn sftp_connection(sshd: &Sshd, known_hosts: &std::path::Path) -> String {
    format!(
        "[connections.district]\nkind = \"sftp\"\nhost = \"{}\"\nport = {}\nuser = \"{}\"\nprivate_key = \"{}\"\nknown_hosts = \"{}\"\n",
        sshd.host,
        sshd.port,
        sshd.user,
        sshd.key.display(),
        known_hosts.display()
    )
}

#[test]
fn sftp_fetch_and_upload_through_ferry_run() {
    let sshd = Sshd::get();
    let sb = Sandbox::sqlite();
    let name = unique(&sb, "e2e-sftp");
    let dir = sshd.dir(&name);
    std::fs::create_dir_all(dir.join("in")).unwrap();
    std::fs::write(dir.join("in/students.csv"), "id\n1\n2\n").unwrap();
    sshd.give(&dir.join("in"));
    sshd.give(&dir.join("in/students.csv"));
    sb.config(&format!(
        "{}\n[jobs.peer]\nplugin = \"example\"\n\
         fetch = [{{ connection = \"district\", remote_dir = \"{name}/in\", pattern = \"*.csv\", after = \"delete\" }}]\n\
         upload = [{{ connection = \"district\", remote_dir = \"{name}/out\", pattern = \"*.csv\" }}]\n",
        sftp_connection(&sshd, &sshd.known_hosts)
    ));
    sb.ferry(&["run", "peer"]).assert_code(0);
    let inbox = sb.path().join("work/jobs/peer/inbox/students.csv");
    assert_eq!(std::fs::read_to_string(inbox).unwrap(), "id\n1\n2\n");
    assert!(!dir.join("in/students.csv").exists(), "deleted after fetch");
    assert!(dir.join("out/greetings-1.csv").exists(), "uploaded");
    let transfers = sb.show(1)["transfers"].as_array().unwrap().clone();
    assert_eq!(transfers.len(), 2);
    assert!(transfers.iter().all(|t| t["connection"] == "district"));
    assert_eq!(
        transfers[0]["remote_path"],
        format!("{name}/in/students.csv")
    );

    let test = sb.ferry(&["connections", "test", "district"]);
    test.assert_code(0);
    assert!(
        test.stdout().contains("connected and authenticated"),
        "{}",
        test.stdout()
    );
}

#[test]
fn an_unknown_host_key_is_refused_until_trusted() {
    let sshd = Sshd::get();
    let sb = Sandbox::sqlite();
    let name = unique(&sb, "e2e-trust");
    let dir = sshd.dir(&name);
    let known_hosts = sb.path().join("known_hosts");
    std::fs::write(&known_hosts, "").unwrap();
    sb.config(&format!(
        "{}\n[jobs.peer]\nplugin = \"example\"\n\
         fetch = [{{ connection = \"district\", remote_dir = \"{name}\" }}]\n",
        sftp_connection(&sshd, &known_hosts)
    ));
    sb.ferry(&["run", "peer"]).assert_code(1);
    let e = &sb.history()[0];
    let error = e["error"].as_str().unwrap_or_default();
    assert!(
        error.contains("SHA256:") && error.contains("ferry connections trust"),
        "{e}"
    );

    let trust = sb.ferry(&["connections", "trust", "district", "--yes"]);
    trust.assert_code(0);
    assert!(trust.stdout().contains("SHA256:"), "{}", trust.stdout());
    let text = std::fs::read_to_string(&known_hosts).unwrap();
    assert!(
        text.starts_with(&format!("[{}]:{} ", sshd.host, sshd.port)),
        "{text}"
    );
    sb.ferry(&["run", "peer"]).assert_code(0);
    drop(dir);
}

#[test]
fn ftps_fetch_with_a_password_from_the_environment() {
    let ftp = Ftp::get();
    let sb = Sandbox::sqlite();
    let name = unique(&sb, "e2e-ftps");
    let dir = ftp.dir(&name);
    std::fs::write(dir.join("roster.csv"), "a,b\n").unwrap();
    sb.config(&format!(
        "[connections.state]\nkind = \"ftps\"\nhost = \"{}\"\nport = {}\nuser = \"{}\"\npassword_env = \"FERRY_E2E_FTP_PASSWORD\"\nca_file = \"{}\"\n\n\
         [jobs.pull]\nplugin = \"example\"\nfetch = [{{ connection = \"state\", remote_dir = \"{name}\", pattern = \"*.csv\" }}]\n",
        ftp.host,
        ftp.port,
        ftp.user,
        ftp.ca.display()
    ));
    let out = sb
        .command(&["run", "pull"])
        .env("FERRY_E2E_FTP_PASSWORD", &ftp.password)
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let inbox = sb.path().join("work/jobs/pull/inbox/roster.csv");
    assert_eq!(std::fs::read_to_string(inbox).unwrap(), "a,b\n");
    let transfers = sb.show(1)["transfers"].as_array().unwrap().clone();
    assert_eq!(transfers[0]["bytes"], 4);
}
