//! File names of the drop box (spec 2.3.1.1, 2.3.2.1, 2.3.3.1): which names are Load Files,
//! and the names of the answers to one.

/// A Load File name, `S_DDDD_SSSS_MMDDYYYY_IDL_NNNNN.csv`, split into its parts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoadFileName {
    /// The whole name.
    pub name: String,
    /// The name without `.csv`.
    pub stem: String,
    pub district: String,
    /// `0000` for a district-level file.
    pub school: String,
    /// MMDDYYYY, as in the name.
    pub date: String,
    pub sequence: String,
}

impl LoadFileName {
    /// Reads `name` as a Load File name; `None` for anything else (hidden names, `.part`
    /// files, the emulator's own answers, other file types).
    pub fn parse(name: &str) -> Option<Self> {
        let stem = name.strip_suffix(".csv")?;
        let parts: Vec<&str> = stem.split('_').collect();
        let [tag, district, school, date, kind, sequence] = parts.as_slice() else {
            return None;
        };
        let digits = |s: &str, n: usize| s.len() == n && s.bytes().all(|b| b.is_ascii_digit());
        if *tag != "S"
            || *kind != "IDL"
            || !digits(district, 4)
            || !digits(school, 4)
            || !digits(date, 8)
            || !digits(sequence, 5)
        {
            return None;
        }
        Some(Self {
            name: name.to_owned(),
            stem: stem.to_owned(),
            district: (*district).to_owned(),
            school: (*school).to_owned(),
            date: (*date).to_owned(),
            sequence: (*sequence).to_owned(),
        })
    }

    /// The Load Results Report's name: the stem with `S_` replaced by `R_`, then `.html`
    /// (2.3.2.1: `R_0130_0000_08012007_IDL_00002.html` answers
    /// `S_0130_0000_08012007_IDL_00002.csv`).
    pub fn report_name(&self) -> String {
        let rest = self.stem.strip_prefix("S_").unwrap_or(&self.stem);
        format!("R_{rest}.html")
    }

    /// The CSV Error Report's detail file: `<stem>.ERR` (B.4).
    pub fn err_name(&self) -> String {
        format!("{}.ERR", self.stem)
    }

    /// The Load Failure File's name for a file processed on `processed` (MMDDYYYY, CST):
    /// `S_DDDD_SSSS_MMDDYYYY_DLF_NNNNN.csv` (2.3.3.1).
    pub fn failure_name(&self, processed: &str) -> String {
        format!(
            "S_{}_{}_{processed}_DLF_{}.csv",
            self.district, self.school, self.sequence
        )
    }
}

#[cfg(test)]
mod tests {
    use super::LoadFileName;

    #[test]
    fn reads_the_spec_example_name_and_derives_the_answers() {
        let n = LoadFileName::parse("S_0130_0000_08012007_IDL_00002.csv").expect("a load file");
        assert_eq!(n.district, "0130");
        assert_eq!(n.school, "0000");
        assert_eq!(n.sequence, "00002");
        assert_eq!(n.report_name(), "R_0130_0000_08012007_IDL_00002.html");
        assert_eq!(
            n.failure_name("08202007"),
            "S_0130_0000_08202007_DLF_00002.csv"
        );
        assert_eq!(n.err_name(), "S_0130_0000_08012007_IDL_00002.ERR");
    }

    #[test]
    fn ignores_everything_else() {
        for name in [
            ".S_0130_0000_08012007_IDL_00002.csv.part",
            ".S_0130_0000_08012007_IDL_00002.csv",
            "S_0130_0000_08012007_DLF_00002.csv",
            "S_0130_0000_08012007_IDL_00002.CSV",
            "S_130_0000_08012007_IDL_00002.csv",
            "S_0130_0000_08012007_IDL_0002.csv",
            "R_0130_0000_08012007_IDL_00002.html",
            "S_0130_0000_0801200x_IDL_00002.csv",
        ] {
            assert!(LoadFileName::parse(name).is_none(), "{name}");
        }
    }
}
