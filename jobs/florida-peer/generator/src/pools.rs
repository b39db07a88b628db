//! Realistic values for the synthetic files: exceptionality codes, accommodation wording (with
//! the commas and quotes real plans have), services, frequencies, locations, schools and names.

/// Florida exceptionality codes for students with IEPs, weighted by repetition (specific
/// learning disability and language/speech are the most common). Gifted (`L`) is for EPs.
pub(crate) const IEP_EXCEPTIONALITIES: [&str; 18] = [
    "K", "K", "K", "K", "G", "G", "F", "F", "P", "P", "J", "V", "V", "W", "H", "I", "C", "T",
];
pub(crate) const GIFTED: &str = "L";

/// (accommodation type, accommodation) for assessments, IEP and Section 504 alike.
pub(crate) const ASSESSMENT_ACCOMMODATIONS: [(&str, &str); 14] = [
    (
        "Presentation",
        "Directions read aloud, repeated, or clarified",
    ),
    (
        "Presentation",
        "Test items read aloud, excluding reading passages",
    ),
    ("Presentation", "Large print test booklet"),
    ("Presentation", "Use of a \"reader\" for math items only"),
    ("Responding", "Student dictates responses to a scribe"),
    (
        "Responding",
        "Mark answers in test booklet, transcribed by test administrator",
    ),
    ("Scheduling", "Extended time, not to exceed one school day"),
    ("Scheduling", "Frequent breaks"),
    ("Scheduling", "Administer test over several brief sessions"),
    ("Setting", "Small group, separate room"),
    ("Setting", "Individual administration"),
    ("Setting", "Preferential seating"),
    ("Assistive Devices", "Four-function calculator"),
    ("Assistive Devices", "Noise-buffer headphones"),
];

/// (accommodation type, accommodation) for the classroom.
pub(crate) const CLASSROOM_ACCOMMODATIONS: [(&str, &str); 12] = [
    (
        "Presentation",
        "Provide copies of notes, outlines, and study guides",
    ),
    ("Presentation", "Chunk assignments into smaller parts"),
    ("Presentation", "Visual schedule"),
    (
        "Responding",
        "Allow use of graphic organizers, word banks, and manipulatives",
    ),
    ("Responding", "Reduced written work, same objectives"),
    ("Scheduling", "Extended time on assignments, up to 50%"),
    ("Scheduling", "Frequent breaks"),
    (
        "Setting",
        "Preferential seating near instruction, away from distractions",
    ),
    ("Setting", "Quiet work area"),
    (
        "Instruction",
        "Check for understanding and restate directions",
    ),
    ("Instruction", "Text-to-speech for \"grade level\" texts"),
    (
        "Behavior",
        "Positive behavior plan; praise, check-in/check-out",
    ),
];

pub(crate) const FREQUENCIES: [&str; 8] = [
    "Daily",
    "Daily",
    "Weekly",
    "As needed",
    "During assessments",
    "2x weekly, 30 minutes",
    "Each class period",
    "Monthly",
];

pub(crate) const LOCATIONS: [&str; 6] = [
    "General Education Classroom",
    "General Education Classroom",
    "ESE Resource Room",
    "Testing Location",
    "All Settings",
    "Cafeteria, Hallways, and Bus",
];

pub(crate) const SERVICE_LOCATIONS: [&str; 5] = [
    "ESE Resource Room",
    "General Education Classroom",
    "Speech Room",
    "Therapy Room",
    "Separate Class",
];

pub(crate) const ESE_SERVICES: [&str; 10] = [
    "Specially Designed Instruction: Reading",
    "Specially Designed Instruction: Math",
    "Specially Designed Instruction: Written Expression",
    "Speech Therapy",
    "Language Therapy",
    "Occupational Therapy",
    "Physical Therapy",
    "Counseling",
    "Social/Emotional Skills",
    "Independent Functioning",
];

pub(crate) const SERVICE_FREQUENCIES: [&str; 6] = [
    "30 min daily",
    "60 min weekly",
    "2x weekly, 30 min",
    "45 min daily",
    "30 min monthly",
    "90 min weekly",
];

pub(crate) const SUPP_AIDS: [&str; 6] = [
    "Paraprofessional support",
    "Assistive technology: word prediction software",
    "Behavior intervention plan",
    "Consultation, ESE teacher with general education teacher",
    "Sign language interpreter",
    "Adapted materials",
];

pub(crate) const ESY_SERVICES: [&str; 5] = [
    "Speech/Language Therapy",
    "Reading: fluency, comprehension",
    "Behavior Support",
    "Occupational Therapy",
    "Math: Computation",
];

/// (transportation code, description).
pub(crate) const TRANSPORTATION: [(&str, &str); 6] = [
    ("A", "Medical condition requires special transportation"),
    ("B", "Lift-equipped bus, wheelchair"),
    ("C", "Requires a bus aide"),
    ("D", "Specialized car seat or safety vest"),
    ("E", "Separate transportation, behavior plan"),
    ("F", "Door-to-door, limited mobility"),
];

/// Minutes in a student's week (custom_878), and early childhood program codes.
pub(crate) const TOTAL_TIMES: [i64; 5] = [1800, 1800, 1950, 1650, 2025];
pub(crate) const EARLY_CHILDHOOD: [&str; 3] = ["A", "B", "C"];

pub(crate) const ASSESSMENT_TYPES: [&str; 3] = [
    "Standard",
    "Standard with accommodations",
    "Alternate (FSAA)",
];
pub(crate) const DIPLOMAS: [&str; 3] = [
    "Standard Diploma",
    "Scholar Designation",
    "Merit Designation",
];
pub(crate) const GRADUATION_OPTIONS: [&str; 3] = [
    "24 Credit",
    "18 Credit ACCEL",
    "Career and Technical Education",
];

pub(crate) const AREAS_OF_CONCERN: [&str; 7] = [
    "Attention, focus",
    "Reading",
    "Written expression",
    "Medical: diabetes",
    "Medical: asthma",
    "Anxiety",
    "Mobility, fine motor",
];
pub(crate) const PERSONS_RESPONSIBLE: [&str; 5] = [
    "Classroom teacher",
    "Classroom teacher, School nurse",
    "All teachers",
    "Guidance counselor, 504 coordinator",
    "School nurse",
];
pub(crate) const SEC504_CLASSROOM: [&str; 6] = [
    "Allow water bottle, snacks, and restroom breaks",
    "Blood glucose checks, as needed",
    "Preferential seating",
    "Extended time on tests and assignments",
    "Copy of class notes",
    "Break card, quiet area",
];

pub(crate) const GRADES: [&str; 15] = [
    "PK", "KG", "01", "02", "03", "04", "05", "06", "07", "08", "09", "10", "11", "12", "03",
];

/// (school number, name) by level. A comma and a non-ASCII name are in here on purpose.
pub(crate) const ELEMENTARY: [(&str, &str); 4] = [
    ("0021", "Pine Ridge Elementary School"),
    ("0041", "Coral Shores Elementary School"),
    ("0301", "Escuela Primaria Santa María"),
    ("0511", "Palmetto Exceptional Student Center"),
];
pub(crate) const MIDDLE: [(&str, &str); 2] = [
    ("0131", "Lakeview Middle School"),
    ("0161", "Cypress Creek Middle School"),
];
pub(crate) const HIGH: [(&str, &str); 2] = [
    ("0251", "Seminole Heights High School"),
    ("0281", "Gulf Coast High School, Magnet Campus"),
];

/// Names for the excluded schools (numbers from the seed).
pub(crate) const EXCLUDED_TITLES: [&str; 8] = [
    "Department of Juvenile Justice Program",
    "Adult General Education",
    "Home Education",
    "Unassigned Placement",
    "District Transfer Pending",
    "Withdrawn Students",
    "Private School, Parentally Placed",
    "Transition Program",
];

pub(crate) const FIRST_NAMES: [&str; 24] = [
    "James", "Olivia", "Liam", "Emma", "Noah", "Ava", "Elijah", "Sophia", "Mateo", "Isabella",
    "Lucas", "Mia", "José", "Camila", "Chloé", "Zoë", "Jamal", "Aaliyah", "Minh", "Priya", "Ethan",
    "Harper", "Logan", "Aria",
];
pub(crate) const LAST_NAMES: [&str; 24] = [
    "Smith",
    "Johnson",
    "Williams",
    "Brown",
    "Jones",
    "Garcia",
    "Martinez",
    "Rodriguez",
    "Hernández",
    "López",
    "Núñez",
    "O'Brien",
    "D'Angelo",
    "Nguyen",
    "Patel",
    "Kim",
    "Jean-Baptiste",
    "Pierre",
    "Thompson",
    "White",
    "Harris",
    "Clark",
    "Lewis",
    "Walker",
];
