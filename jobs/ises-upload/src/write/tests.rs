//! The writer against the spec's own example records, and every way a value can fail to fit.

use chrono::{NaiveDate, TimeZone, Utc};

use super::*;
use crate::record::{Dtg, Header, Incident, LoadFile, Record, School};
use crate::test_records::{date, removal};

/// The header of the spec's examples: generated 08-10-2008 13:00:05 CST, i.e. 19:00:05 UTC.
fn example_header() -> Header {
    Header {
        dtg: Dtg::from_utc(
            Utc.with_ymd_and_hms(2008, 8, 10, 19, 0, 5)
                .single()
                .expect("valid instant"),
        ),
        seq_num: 1,
        district_code: "1".to_owned(),
    }
}

fn incident(key: &str, school: &str, wsn: &str, enroll: NaiveDate, at: NaiveDate) -> Incident {
    Incident {
        incident_key: key.to_owned(),
        school_code: school.to_owned(),
        incident_id: None,
        year_incident: 2008,
        wsn_id: wsn.to_owned(),
        enroll_date: Some(enroll),
        incident_date: Some(at),
        incident_type_primary: None,
        incident_type_secondary: None,
    }
}

/// The spec's example Load File: Appendix B.2, "The following is an example of the Load File
/// Definition" right after Table B-2 (seed lines 757–779), with the curly quotes replaced by
/// ASCII ones, the illustrative "example: …" captions and blank lines left out (B says line
/// breaks in the examples are only for readability) and CR LF line ends.
const SPEC_EXAMPLE_LOAD_FILE: &str = concat!(
    "\"01\",\"08-10-2008 13:00:05 CST\",\"00001\",\"YED\",\"0001\"\r\n",
    "\"02\",\"0002\",\"D\",\"2008\"\r\n",
    "\"03\",\"\",\"2008\",\"1234567890\",\"09/02/2003\",\"04/12/2008\",\"SR\",\"\"\r\n",
    "\"04\",\"\",\"2008\",\"OS\",\"04/13/2008\",\"\",\"\",\"\",\"\",\"N\",\"7\",\"4.0\",\"\",\"\"\r\n",
    "\"03\",\"\",\"2008\",\"2345678901\",\"02/14/2005\",\"11/02/2007\",\"AE\",\"AL\"\r\n",
    "\"04\",\"\",\"2008\",\"OS\",\"12/04/2007\",\"\",\"\",\"\",\"\",\"N\",\"7\",\"7.0\",\"\",\"\"\r\n",
    "\"04\",\"\",\"2008\",\"EX\",\"12/14/2007\",\"\",\"\",\"\",\"\",\"N\",\"7\",\"45.0\",\"\",\"\"\r\n",
    "\"02\",\"0003\",\"D\",\"2008\"\r\n",
    "\"05\",\"EOF\"\r\n",
);

/// The records of the spec's example, handed over in a scrambled order so that the ordering
/// rules (school code, incident_key, start date) have to put them back.
fn spec_example() -> LoadFile {
    let mut single = incident(
        "A-1",
        "2",
        "1234567890",
        date(2003, 9, 2),
        date(2008, 4, 12),
    );
    single.incident_type_primary = Some("SR".to_owned());
    let mut double = incident(
        "B-2",
        "0002",
        "2345678901",
        date(2005, 2, 14),
        date(2007, 11, 2),
    );
    double.incident_type_primary = Some("AE".to_owned());
    double.incident_type_secondary = Some("AL".to_owned());
    let removals = vec![
        removal("B-2", "EX", date(2007, 12, 14), 45.0),
        removal("A-1", "OS", date(2008, 4, 13), 4.0),
        removal("B-2", "OS", date(2007, 12, 4), 7.0),
    ];
    LoadFile::build(
        example_header(),
        2008,
        &["0003".to_owned(), "2".to_owned()],
        vec![double, single],
        removals,
    )
    .expect("the spec's example builds")
}

#[test]
fn spec_example_load_file_is_reproduced_byte_for_byte() {
    let bytes = load_file_bytes(&spec_example()).expect("writes");
    assert_eq!(
        String::from_utf8(bytes).expect("ascii"),
        SPEC_EXAMPLE_LOAD_FILE
    );
}

#[test]
fn spec_example_header_line_matches_table_b1_example() {
    // Appendix B.1, after Table B-1 (seed line 507):
    // “01”,”08-10-2008 13:00:05 CST”,”00001”,“YED”,“0001”
    let line = record_line(&Record::Header(&example_header())).expect("writes");
    assert_eq!(
        line,
        r#""01","08-10-2008 13:00:05 CST","00001","YED","0001""#
    );
}

#[test]
fn every_line_ends_in_crlf_and_nothing_else_breaks_a_line() {
    let bytes = load_file_bytes(&spec_example()).expect("writes");
    assert!(bytes.ends_with(b"\r\n"));
    let crlf = bytes.windows(2).filter(|w| w == b"\r\n").count();
    let lf = bytes.iter().filter(|b| **b == b'\n').count();
    let cr = bytes.iter().filter(|b| **b == b'\r').count();
    assert_eq!(crlf, 9);
    assert_eq!(lf, 9);
    assert_eq!(cr, 9);
    assert!(bytes.is_ascii());
}

#[test]
fn removals_with_the_same_start_date_order_by_type_then_id() {
    let start = date(2007, 10, 1);
    let mut second = removal("K", "OS", start, 1.0);
    second.removal_id = Some("R2".to_owned());
    let mut first = removal("K", "OS", start, 1.0);
    first.removal_id = Some("R1".to_owned());
    let is = removal("K", "IS", start, 1.0);
    let file = LoadFile::build(
        example_header(),
        2008,
        &[],
        vec![incident("K", "7", "1", date(2003, 9, 2), date(2007, 9, 30))],
        vec![second, first, is],
    )
    .expect("builds");
    let order: Vec<_> = file.schools()[0].incidents[0]
        .removals
        .iter()
        .map(|r| (r.removal_type.clone(), r.removal_id.clone()))
        .collect();
    assert_eq!(
        order,
        [
            (Some("IS".to_owned()), None),
            (Some("OS".to_owned()), Some("R1".to_owned())),
            (Some("OS".to_owned()), Some("R2".to_owned())),
        ]
    );
    // The WSN is padded to ten digits, the school to four.
    let lines: Vec<_> = file
        .records()
        .iter()
        .map(|r| record_line(r).expect("writes"))
        .collect();
    assert_eq!(lines[1], r#""02","0007","D","2008""#);
    assert_eq!(
        lines[2],
        r#""03","","2008","0000000001","09/02/2003","09/30/2007","","""#
    );
}

#[test]
fn a_removal_without_its_incident_and_a_repeated_key_are_errors() {
    let orphan = LoadFile::build(
        example_header(),
        2008,
        &[],
        vec![incident("K", "7", "1", date(2003, 9, 2), date(2007, 9, 30))],
        vec![removal("X", "OS", date(2007, 10, 1), 1.0)],
    );
    assert_eq!(
        orphan,
        Err(IsesError::UnknownIncident {
            key: "X".to_owned(),
            removal_id: None
        })
    );
    let twice = LoadFile::build(
        example_header(),
        2008,
        &[],
        vec![
            incident("K", "7", "1", date(2003, 9, 2), date(2007, 9, 30)),
            incident("K", "8", "2", date(2003, 9, 2), date(2007, 9, 30)),
        ],
        vec![],
    );
    assert_eq!(
        twice,
        Err(IsesError::DuplicateIncidentKey {
            key: "K".to_owned()
        })
    );
}

#[test]
fn zero_padding_pads_and_refuses_long_or_non_numeric_values() {
    assert_eq!(zero_pad("DISTRICT", "130", 4).as_deref(), Ok("0130"));
    assert_eq!(zero_pad("DISTRICT", "0130", 4).as_deref(), Ok("0130"));
    assert_eq!(
        zero_pad("WSN_ID", "12345678901", 10),
        Err(IsesError::TooLong {
            field: "WSN_ID",
            value: "12345678901".to_owned(),
            width: 10
        })
    );
    for bad in ["", "12a", " 130", "-1", "1.0", "١٢"] {
        assert_eq!(
            zero_pad("SCHOOL", bad, 4),
            Err(IsesError::NotNumeric {
                field: "SCHOOL",
                value: bad.to_owned(),
                width: 4
            }),
            "{bad:?}"
        );
    }
}

#[test]
fn bad_codes_in_records_are_errors_naming_field_and_value() {
    let mut header = example_header();
    header.district_code = "10130".to_owned();
    let err = record_line(&Record::Header(&header)).expect_err("too long");
    assert_eq!(
        err.to_string(),
        r#"DISTRICT: "10130" is longer than its FORMAT width of 4 digits"#
    );

    let mut header = example_header();
    header.seq_num = 100_000;
    assert!(matches!(
        record_line(&Record::Header(&header)),
        Err(IsesError::TooLong {
            field: "SEQ_NUM",
            ..
        })
    ));

    let school = School {
        school_code: "00A2".to_owned(),
        year: 2008,
    };
    let err = record_line(&Record::School(&school)).expect_err("non-numeric");
    assert!(err.to_string().contains("SCHOOL"), "{err}");
    assert!(err.to_string().contains("00A2"), "{err}");

    let bad_wsn = incident("K", "7", "12345 7890", date(2003, 9, 2), date(2007, 9, 30));
    assert!(matches!(
        record_line(&Record::Incident(&bad_wsn)),
        Err(IsesError::NotNumeric {
            field: "WSN_ID",
            ..
        })
    ));

    let school = School {
        school_code: "2".to_owned(),
        year: 2008,
    };
    assert_eq!(
        record_line(&Record::School(&school)).as_deref(),
        Ok(r#""02","0002","D","2008""#)
    );
    let school = School {
        school_code: "2".to_owned(),
        year: 208,
    };
    assert_eq!(
        record_line(&Record::School(&school)),
        Err(IsesError::Year {
            field: "YEAR",
            value: 208
        })
    );
}

#[test]
fn non_ascii_and_unquotable_values_are_errors() {
    let mut accented = incident("K", "7", "1", date(2003, 9, 2), date(2007, 9, 30));
    accented.incident_id = Some("CAFÉ-1".to_owned());
    assert_eq!(
        record_line(&Record::Incident(&accented)),
        Err(IsesError::NonAscii {
            field: "INCIDENT_ID",
            value: "CAFÉ-1".to_owned()
        })
    );
    // The curly quotes of the spec's own examples are not ASCII either.
    let mut curly = removal("K", "OS", date(2007, 10, 1), 1.0);
    curly.removal_id = Some("\u{201c}R1\u{201d}".to_owned());
    assert!(matches!(
        record_line(&Record::Removal(&curly)),
        Err(IsesError::NonAscii {
            field: "REMOVAL_ID",
            ..
        })
    ));
    for bad in ["R\"1", "R\r1", "R\n1", "R\t1"] {
        let mut r = removal("K", "OS", date(2007, 10, 1), 1.0);
        r.removal_id = Some(bad.to_owned());
        assert_eq!(
            record_line(&Record::Removal(&r)),
            Err(IsesError::Unquotable {
                field: "REMOVAL_ID",
                value: bad.to_owned()
            }),
            "{bad:?}"
        );
    }
}

#[test]
fn days_removed_have_exactly_one_decimal() {
    assert_eq!(format_days_removed(45.0).as_deref(), Ok("45.0"));
    assert_eq!(format_days_removed(4.0).as_deref(), Ok("4.0"));
    assert_eq!(format_days_removed(2.5).as_deref(), Ok("2.5"));
    assert_eq!(format_days_removed(0.0).as_deref(), Ok("0.0"));
    assert_eq!(format_days_removed(0.1).as_deref(), Ok("0.1"));
    assert_eq!(format_days_removed(999.5).as_deref(), Ok("999.5"));
    for bad in [4.25, -1.0, 1000.0, f64::NAN, f64::INFINITY] {
        assert!(
            matches!(format_days_removed(bad), Err(IsesError::DaysRemoved { .. })),
            "{bad}"
        );
    }
}

#[test]
fn expulsion_fields_are_written_in_table_b2_order() {
    let mut ex = removal("K", "EX", date(2007, 12, 14), 45.0);
    ex.removal_id = Some("R-9".to_owned());
    ex.serious_bodily_injury = Some("N".to_owned());
    ex.early_reinstate_conditions = Some("Y".to_owned());
    ex.expulsion_return_year = Some(2009);
    ex.modified_term = Some("M".to_owned());
    ex.prim_disab = Some("EBD".to_owned());
    ex.eng_prof_code = Some("3".to_owned());
    ex.services_provided = Some("Y".to_owned());
    ex.return_to_school = Some("N".to_owned());
    assert_eq!(
        record_line(&Record::Removal(&ex)).as_deref(),
        Ok(r#""04","R-9","2008","EX","12/14/2007","N","Y","2009","M","EBD","3","45.0","Y","N""#)
    );
}

#[test]
fn file_name_matches_the_specs_example() {
    // Section 2.3.1.1 (seed line 187): S_0130_0000_08012007_IDL_00002.csv, a district file for
    // district 0130 generated on August 01, 2007, the second file of the school year.
    let header = Header {
        dtg: Dtg::from_utc(
            Utc.with_ymd_and_hms(2007, 8, 1, 15, 0, 0)
                .single()
                .expect("valid instant"),
        ),
        seq_num: 2,
        district_code: "130".to_owned(),
    };
    assert_eq!(
        file_name(&header, "0000").as_deref(),
        Ok("S_0130_0000_08012007_IDL_00002.csv")
    );
    assert_eq!(
        file_name(&header, "1").as_deref(),
        Ok("S_0130_0001_08012007_IDL_00002.csv")
    );
    assert!(matches!(
        file_name(&header, "00001"),
        Err(IsesError::TooLong {
            field: "SCHOOL",
            ..
        })
    ));
}

#[test]
fn dtg_and_file_name_date_are_utc_minus_six_in_summer_and_winter() {
    // July: Central daylight time would say 20:30, the spec's CST says 19:30.
    let july = Header {
        dtg: Dtg::from_utc(
            Utc.with_ymd_and_hms(2008, 7, 15, 1, 30, 0)
                .single()
                .expect("valid instant"),
        ),
        seq_num: 12,
        district_code: "0130".to_owned(),
    };
    assert_eq!(
        format_dtg(&july.dtg).as_deref(),
        Ok("07-14-2008 19:30:00 CST")
    );
    assert_eq!(
        file_name(&july, "0000").as_deref(),
        Ok("S_0130_0000_07142008_IDL_00012.csv")
    );
    // 05:30 UTC in July is 00:30 CDT on the 15th but still 23:30 CST on the 14th: the name
    // follows the DTG, not daylight saving.
    let late = Header {
        dtg: Dtg::from_utc(
            Utc.with_ymd_and_hms(2008, 7, 15, 5, 30, 0)
                .single()
                .expect("valid instant"),
        ),
        ..july.clone()
    };
    assert_eq!(
        format_dtg(&late.dtg).as_deref(),
        Ok("07-14-2008 23:30:00 CST")
    );
    assert_eq!(
        file_name(&late, "0000").as_deref(),
        Ok("S_0130_0000_07142008_IDL_00012.csv")
    );
    // January: standard time anyway, same offset.
    let january = Header {
        dtg: Dtg::from_utc(
            Utc.with_ymd_and_hms(2008, 1, 1, 5, 59, 59)
                .single()
                .expect("valid instant"),
        ),
        ..july
    };
    assert_eq!(
        format_dtg(&january.dtg).as_deref(),
        Ok("12-31-2007 23:59:59 CST")
    );
    assert_eq!(
        file_name(&january, "0000").as_deref(),
        Ok("S_0130_0000_12312007_IDL_00012.csv")
    );
    let line = record_line(&Record::Header(&january)).expect("writes");
    assert_eq!(
        line,
        r#""01","12-31-2007 23:59:59 CST","00012","YED","0130""#
    );
}
