//! Reading a Load File's bytes into its records (Table B-1 and B-2 layouts), or refusing it
//! with the reason a CSV Error Report gives (B.4): invalid characters (Appendix E), CSV that
//! cannot be read, records of the wrong layout, a missing header or trailer.
//!
//! Only layout is checked here; the values are left exactly as received for the business
//! rules ([`crate::rules`]) and the failure file, which echoes them.

/// Fields per record type, the type tag included (B.1, B.2's example).
const HEADER_FIELDS: usize = 5;
const SCHOOL_FIELDS: usize = 4;
const INCIDENT_FIELDS: usize = 8;
const REMOVAL_FIELDS: usize = 14;
const TRAILER_FIELDS: usize = 2;

/// Characters B.4 names as causing file failure, beyond anything non-ASCII.
const FORBIDDEN: &[u8] = b"<>&'~`";

/// The `01` record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Header {
    pub line: u64,
    pub dtg: String,
    pub seq_num: String,
    pub collection: String,
    pub district: String,
}

/// A `02` record and what follows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct School {
    pub line: u64,
    pub school: String,
    pub record_type: String,
    pub year: String,
    pub incidents: Vec<Incident>,
}

/// A `03` record and its removals.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Incident {
    pub line: u64,
    pub incident_id: String,
    pub year_incident: String,
    pub wsn_id: String,
    pub enroll_date: String,
    pub incident_date: String,
    pub type_primary: String,
    pub type_secondary: String,
    pub removals: Vec<Removal>,
}

/// A `04` record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Removal {
    pub line: u64,
    pub removal_id: String,
    pub year_removal_type: String,
    pub removal_type: String,
    pub start_date: String,
    pub serious_bodily_injury: String,
    pub early_reinstatement: String,
    pub expulsion_return_year: String,
    pub modified_term: String,
    pub primary_disability: String,
    pub english_proficiency: String,
    pub days_removed: String,
    pub services_provided: String,
    pub return_to_school: String,
}

/// A Load File that is readable CSV of the right layout.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoadFile {
    pub header: Header,
    pub schools: Vec<School>,
}

/// Why a file is a CSV error, with the line it was found on (1-based; 0 when not tied to one).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CsvError {
    pub line: u64,
    pub detail: String,
}

fn csv_error(line: u64, detail: impl Into<String>) -> CsvError {
    CsvError {
        line,
        detail: detail.into(),
    }
}

/// Reads `bytes` as a Load File.
pub fn read(bytes: &[u8]) -> Result<LoadFile, CsvError> {
    check_characters(bytes)?;
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_reader(bytes);
    let mut header: Option<Header> = None;
    let mut schools: Vec<School> = Vec::new();
    let mut ended = false;
    for result in reader.records() {
        let record = result.map_err(|e| {
            let line = e.position().map_or(0, |p| line_at(bytes, p.byte()));
            csv_error(line, format!("the file is not readable CSV: {e}"))
        })?;
        let line = line_at(bytes, record.position().map_or(0, csv::Position::byte));
        let fields: Vec<String> = record.iter().map(str::to_owned).collect();
        if fields.iter().all(String::is_empty) {
            continue;
        }
        if ended {
            return Err(csv_error(line, "a record after the \"05\",\"EOF\" trailer"));
        }
        if let Some(bad) = fields.iter().find(|f| f.contains('"')) {
            return Err(csv_error(
                line,
                format!("the value {bad:?} holds a double quote (Appendix E)"),
            ));
        }
        let tag = fields[0].as_str();
        let expect = |n: usize, what: &str| {
            if fields.len() == n {
                Ok(())
            } else {
                Err(csv_error(
                    line,
                    format!(
                        "the {what} record has {} fields; Table B-2 defines {n}",
                        fields.len()
                    ),
                ))
            }
        };
        if header.is_none() && tag != "01" {
            return Err(csv_error(
                line,
                format!("the file does not begin with the \"01\" header record (found {tag:?})"),
            ));
        }
        match tag {
            "01" => {
                if header.is_some() {
                    return Err(csv_error(line, "a second \"01\" header record"));
                }
                expect(HEADER_FIELDS, "\"01\" header")?;
                header = Some(Header {
                    line,
                    dtg: fields[1].clone(),
                    seq_num: fields[2].clone(),
                    collection: fields[3].clone(),
                    district: fields[4].clone(),
                });
            }
            "02" => {
                expect(SCHOOL_FIELDS, "\"02\" school")?;
                schools.push(School {
                    line,
                    school: fields[1].clone(),
                    record_type: fields[2].clone(),
                    year: fields[3].clone(),
                    incidents: Vec::new(),
                });
            }
            "03" => {
                expect(INCIDENT_FIELDS, "\"03\" incident")?;
                let school = schools.last_mut().ok_or_else(|| {
                    csv_error(line, "an \"03\" incident before any \"02\" school")
                })?;
                school.incidents.push(Incident {
                    line,
                    incident_id: fields[1].clone(),
                    year_incident: fields[2].clone(),
                    wsn_id: fields[3].clone(),
                    enroll_date: fields[4].clone(),
                    incident_date: fields[5].clone(),
                    type_primary: fields[6].clone(),
                    type_secondary: fields[7].clone(),
                    removals: Vec::new(),
                });
            }
            "04" => {
                expect(REMOVAL_FIELDS, "\"04\" removal")?;
                let incident = schools
                    .last_mut()
                    .and_then(|s| s.incidents.last_mut())
                    .ok_or_else(|| {
                        csv_error(line, "an \"04\" removal without its \"03\" incident")
                    })?;
                incident.removals.push(Removal {
                    line,
                    removal_id: fields[1].clone(),
                    year_removal_type: fields[2].clone(),
                    removal_type: fields[3].clone(),
                    start_date: fields[4].clone(),
                    serious_bodily_injury: fields[5].clone(),
                    early_reinstatement: fields[6].clone(),
                    expulsion_return_year: fields[7].clone(),
                    modified_term: fields[8].clone(),
                    primary_disability: fields[9].clone(),
                    english_proficiency: fields[10].clone(),
                    days_removed: fields[11].clone(),
                    services_provided: fields[12].clone(),
                    return_to_school: fields[13].clone(),
                });
            }
            "05" => {
                expect(TRAILER_FIELDS, "\"05\" trailer")?;
                if fields[1] != "EOF" {
                    return Err(csv_error(
                        line,
                        format!("the trailer is \"05\",{:?}, not \"05\",\"EOF\"", fields[1]),
                    ));
                }
                ended = true;
            }
            other => {
                return Err(csv_error(
                    line,
                    format!("unknown record type {other:?} (a Load File has 01 to 05)"),
                ));
            }
        }
    }
    let header = header.ok_or_else(|| csv_error(0, "the file is empty: no \"01\" header"))?;
    if !ended {
        return Err(csv_error(0, "the file has no \"05\",\"EOF\" trailer"));
    }
    if schools.is_empty() {
        return Err(csv_error(0, "the file has no \"02\" school record"));
    }
    Ok(LoadFile { header, schools })
}

/// The 1-based line of the record starting at byte offset `at`. The csv crate ends a record at
/// the CR of a CR LF and starts the next at the LF, so line ends at `at` are skipped first
/// (its own line count is off by the same cause).
fn line_at(bytes: &[u8], at: u64) -> u64 {
    let mut end = usize::try_from(at).unwrap_or(usize::MAX).min(bytes.len());
    while end < bytes.len() && matches!(bytes[end], b'\r' | b'\n') {
        end += 1;
    }
    let newlines = bytes[..end].iter().filter(|&&b| b == b'\n').count();
    u64::try_from(newlines)
        .unwrap_or(u64::MAX)
        .saturating_add(1)
}

/// Appendix E and B.4: the file must be ASCII text without `< > & ' ~ \``; control characters
/// other than line ends are refused as well.
fn check_characters(bytes: &[u8]) -> Result<(), CsvError> {
    let mut line = 1u64;
    for (at, &b) in bytes.iter().enumerate() {
        let bad = if b >= 0x80 {
            Some("a non-ASCII byte".to_owned())
        } else if FORBIDDEN.contains(&b) {
            Some(format!("the character {:?}", char::from(b)))
        } else if b < 0x20 && b != b'\r' && b != b'\n' {
            Some(format!("the control character 0x{b:02X}"))
        } else {
            None
        };
        if let Some(what) = bad {
            return Err(csv_error(
                line,
                format!("{what} at byte {at}, which a Load File may not contain (Appendix E)"),
            ));
        }
        if b == b'\n' {
            line += 1;
        }
    }
    Ok(())
}
