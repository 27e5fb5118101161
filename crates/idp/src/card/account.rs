//! "Ma CPS" (PSC-06): the section of the account page where a professional sees their cards.
