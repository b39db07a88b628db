-- Florida PEER background tables, SQLite flavour. The twin of
-- migrations/postgres/0001_background_tables.sql: same tables, columns and indexes; only the types
-- differ. Never edit this file once released: add a new numbered migration to both folders instead.
--
-- One table per PEER file, holding every row of the district's latest files for a school year:
-- the import sets id, district_id (the FLDOE district number) and syear (the calendar year the
-- school year starts in) and replaces a district's and year's rows on every run. The data
-- columns are the file's, named and ordered as the PEER mapping lists them (ammendment_date is
-- its spelling). Date columns hold ISO dates (YYYY-MM-DD) whatever the file's format; every
-- other column is the file's text, trimmed, NULL where the file's cell is blank.
-- SQLite has no date type: DATE columns hold ISO text.

-- ActiveEPs.csv
CREATE TABLE fl_peer_active_eps (
    id              INTEGER PRIMARY KEY,
    district_id     TEXT NOT NULL,
    syear           INTEGER NOT NULL,
    ammendment_date DATE,
    ep_end_date     DATE,
    ep_start_date   DATE,
    initiation_date DATE,
    local_id        TEXT
);
CREATE INDEX fl_peer_active_eps_district_syear ON fl_peer_active_eps (district_id, syear);
CREATE INDEX fl_peer_active_eps_local_id ON fl_peer_active_eps (local_id);

-- ActiveIEPs.csv
CREATE TABLE fl_peer_active_ieps (
    id                     INTEGER PRIMARY KEY,
    district_id            TEXT NOT NULL,
    syear                  INTEGER NOT NULL,
    aice                   TEXT,
    ammendment_date        DATE,
    assessment_type        TEXT,
    diploma_designation    TEXT,
    esy_services           TEXT,
    graduation_option      TEXT,
    ib                     TEXT,
    iep_end_date           DATE,
    iep_start_date         DATE,
    initiation_date        DATE,
    local_id               TEXT,
    other_exceptionalities TEXT,
    primary_exceptionality TEXT,
    reeval_due_date        DATE,
    review_due_date        DATE,
    special_diploma_type   TEXT
);
CREATE INDEX fl_peer_active_ieps_district_syear ON fl_peer_active_ieps (district_id, syear);
CREATE INDEX fl_peer_active_ieps_local_id ON fl_peer_active_ieps (local_id);

-- ActiveSPs.csv
CREATE TABLE fl_peer_active_service_plans (
    id              INTEGER PRIMARY KEY,
    district_id     TEXT NOT NULL,
    syear           INTEGER NOT NULL,
    ammendment_date DATE,
    duration_date   DATE,
    initiation_date DATE,
    local_id        TEXT,
    meeting_date    DATE
);
CREATE INDEX fl_peer_active_service_plans_district_syear ON fl_peer_active_service_plans (district_id, syear);
CREATE INDEX fl_peer_active_service_plans_local_id ON fl_peer_active_service_plans (local_id);

-- ActiveSec504Plans.csv
CREATE TABLE fl_peer_active_504_plans (
    id                    INTEGER PRIMARY KEY,
    district_id           TEXT NOT NULL,
    syear                 INTEGER NOT NULL,
    local_id              TEXT,
    meeting_date          DATE,
    original_meeting_date DATE,
    temp_plan_start_date  DATE,
    temp_plan_end_date    DATE
);
CREATE INDEX fl_peer_active_504_plans_district_syear ON fl_peer_active_504_plans (district_id, syear);
CREATE INDEX fl_peer_active_504_plans_local_id ON fl_peer_active_504_plans (local_id);

-- IEPAssessmentAccommodations.csv
CREATE TABLE fl_peer_assessment_accommodations (
    id                     INTEGER PRIMARY KEY,
    district_id            TEXT NOT NULL,
    syear                  INTEGER NOT NULL,
    accommodation          TEXT,
    accommodation_type     TEXT,
    iep_end_date           DATE,
    initiation_date        DATE,
    local_id               TEXT,
    primary_exceptionality TEXT
);
CREATE INDEX fl_peer_assessment_accommodations_district_syear ON fl_peer_assessment_accommodations (district_id, syear);
CREATE INDEX fl_peer_assessment_accommodations_local_id ON fl_peer_assessment_accommodations (local_id);

-- IEPClassroomAccommodations.csv
CREATE TABLE fl_peer_classroom_accommodations (
    id                     INTEGER PRIMARY KEY,
    district_id            TEXT NOT NULL,
    syear                  INTEGER NOT NULL,
    accommodation          TEXT,
    accommodation_type     TEXT,
    duration_date          DATE,
    frequency              TEXT,
    initiation_date        DATE,
    local_id               TEXT,
    location               TEXT,
    primary_exceptionality TEXT
);
CREATE INDEX fl_peer_classroom_accommodations_district_syear ON fl_peer_classroom_accommodations (district_id, syear);
CREATE INDEX fl_peer_classroom_accommodations_local_id ON fl_peer_classroom_accommodations (local_id);

-- IEPLRE.csv
CREATE TABLE fl_peer_iep_lre (
    id                      INTEGER PRIMARY KEY,
    district_id             TEXT NOT NULL,
    syear                   INTEGER NOT NULL,
    duration_date           DATE,
    early_childhood_program TEXT,
    initiation_date         DATE,
    local_id                TEXT,
    setting                 TEXT,
    time_non_disabled_peers TEXT,
    total_time              TEXT
);
CREATE INDEX fl_peer_iep_lre_district_syear ON fl_peer_iep_lre (district_id, syear);
CREATE INDEX fl_peer_iep_lre_local_id ON fl_peer_iep_lre (local_id);

-- MatrixOfServices.csv
-- review_dates is text as FLDOE writes it, not a date.
CREATE TABLE fl_peer_matrix_services (
    id                     INTEGER PRIMARY KEY,
    district_id            TEXT NOT NULL,
    syear                  INTEGER NOT NULL,
    cost_factor            TEXT,
    date_completed         DATE,
    domain_a               TEXT,
    domain_b               TEXT,
    domain_c               TEXT,
    domain_d               TEXT,
    domain_e               TEXT,
    fefp_number            TEXT,
    local_id               TEXT,
    other_exceptionalities TEXT,
    primary_exceptionality TEXT,
    review_dates           TEXT,
    special_considerations TEXT,
    total_ratings          TEXT
);
CREATE INDEX fl_peer_matrix_services_district_syear ON fl_peer_matrix_services (district_id, syear);
CREATE INDEX fl_peer_matrix_services_local_id ON fl_peer_matrix_services (local_id);

-- Sec504AssessmentAccommodations.csv
-- The file's primary_exceptionality column is read but not stored (the seed: "Only used in
-- TEMP table, not imported into actual table").
CREATE TABLE fl_peer_504_assessment_accommodations (
    id                 INTEGER PRIMARY KEY,
    district_id        TEXT NOT NULL,
    syear              INTEGER NOT NULL,
    accommodation      TEXT,
    accommodation_type TEXT,
    local_id           TEXT,
    start_date         DATE,
    temp_plan_end_date DATE
);
CREATE INDEX fl_peer_504_assessment_accommodations_district_syear ON fl_peer_504_assessment_accommodations (district_id, syear);
CREATE INDEX fl_peer_504_assessment_accommodations_local_id ON fl_peer_504_assessment_accommodations (local_id);

-- Sec504PlansGeneralClassroomAcc-Services.csv
CREATE TABLE fl_peer_504_classroom_accommodations (
    id                  INTEGER PRIMARY KEY,
    district_id         TEXT NOT NULL,
    syear               INTEGER NOT NULL,
    accommodation       TEXT,
    area_of_concern     TEXT,
    local_id            TEXT,
    persons_responsible TEXT,
    start_date          DATE,
    temp_plan_end_date  DATE
);
CREATE INDEX fl_peer_504_classroom_accommodations_district_syear ON fl_peer_504_classroom_accommodations (district_id, syear);
CREATE INDEX fl_peer_504_classroom_accommodations_local_id ON fl_peer_504_classroom_accommodations (local_id);

-- IEPESYService.csv
-- The seed's listing of this table omits id and district_id; it has them like every other table.
CREATE TABLE fl_peer_iep_esy_service (
    id                     INTEGER PRIMARY KEY,
    district_id            TEXT NOT NULL,
    syear                  INTEGER NOT NULL,
    duration_date          DATE,
    esy_service            TEXT,
    frequency              TEXT,
    initiation_date        DATE,
    local_id               TEXT,
    location               TEXT,
    primary_exceptionality TEXT
);
CREATE INDEX fl_peer_iep_esy_service_district_syear ON fl_peer_iep_esy_service (district_id, syear);
CREATE INDEX fl_peer_iep_esy_service_local_id ON fl_peer_iep_esy_service (local_id);

-- IEPTransportationFTE.csv
CREATE TABLE fl_peer_iep_transportation_fte (
    id                  INTEGER PRIMARY KEY,
    district_id         TEXT NOT NULL,
    syear               INTEGER NOT NULL,
    description         TEXT,
    end_date            DATE,
    local_id            TEXT,
    start_date          DATE,
    transportation_code TEXT
);
CREATE INDEX fl_peer_iep_transportation_fte_district_syear ON fl_peer_iep_transportation_fte (district_id, syear);
CREATE INDEX fl_peer_iep_transportation_fte_local_id ON fl_peer_iep_transportation_fte (local_id);

-- IEPSuppAidsServices.csv
CREATE TABLE fl_peer_iep_supp_aids_services (
    id                     INTEGER PRIMARY KEY,
    district_id            TEXT NOT NULL,
    syear                  INTEGER NOT NULL,
    duration_date          DATE,
    frequency              TEXT,
    initiation_date        DATE,
    local_id               TEXT,
    location               TEXT,
    primary_exceptionality TEXT,
    service                TEXT
);
CREATE INDEX fl_peer_iep_supp_aids_services_district_syear ON fl_peer_iep_supp_aids_services (district_id, syear);
CREATE INDEX fl_peer_iep_supp_aids_services_local_id ON fl_peer_iep_supp_aids_services (local_id);

-- IEPESEService.csv
CREATE TABLE fl_peer_iep_ese_service (
    id                     INTEGER PRIMARY KEY,
    district_id            TEXT NOT NULL,
    syear                  INTEGER NOT NULL,
    duration_date          DATE,
    frequency              TEXT,
    initiation_date        DATE,
    local_id               TEXT,
    location               TEXT,
    primary_exceptionality TEXT,
    service                TEXT
);
CREATE INDEX fl_peer_iep_ese_service_district_syear ON fl_peer_iep_ese_service (district_id, syear);
CREATE INDEX fl_peer_iep_ese_service_local_id ON fl_peer_iep_ese_service (local_id);

-- PEERStudentInfo.csv
CREATE TABLE fl_peer_student_info (
    id           INTEGER PRIMARY KEY,
    district_id  TEXT NOT NULL,
    syear        INTEGER NOT NULL,
    grade        TEXT,
    local_id     TEXT,
    school_num   TEXT,
    school_title TEXT,
    url          TEXT
);
CREATE INDEX fl_peer_student_info_district_syear ON fl_peer_student_info (district_id, syear);
CREATE INDEX fl_peer_student_info_local_id ON fl_peer_student_info (local_id);
