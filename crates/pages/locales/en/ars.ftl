# The regional health agencies' back office (/ars, REG-11).
ars-name = ARS back office
ars-back-home = Back to the queues
ars-back-record = Back to the professional's record
ars-request-id = Incident reference: { $id }
ars-csrf-title = Form expired
ars-csrf-text = This form was not sent from this page of the ARS back office, or it has expired. Reload the page and start again.
ars-not-found-title = Not found
ars-not-found-text = This item does not exist or is not in your départements. Go back to the queues.
ars-age-minutes = { $n ->
    [0] less than a minute ago
    [one] { $n } minute ago
   *[other] { $n } minutes ago
}
ars-age-hours = { $n ->
    [one] { $n } hour ago
   *[other] { $n } hours ago
}
ars-age-days = { $n ->
    [one] { $n } day ago
   *[other] { $n } days ago
}

# Login
ars-login-title = Log in to the ARS back office
ars-login-intro = For agents of the regional health agencies only. Log in with your e-mail address and password, then the code of your authenticator app.
ars-login-email = E-mail address
ars-login-password = Password
ars-login-submit = Log in
ars-login-missing = Enter your e-mail address and your password.
ars-login-refused = Wrong e-mail address or password. Check what you typed and try again.
ars-login-throttled = Too many failed attempts. Try again in { $minutes ->
    [one] { $minutes } minute
   *[other] { $minutes } minutes
}.
ars-logged-out = You are logged out of the ARS back office.
ars-logout = Log out
ars-nav-who = { $name } — départements { $departments }
ars-code-title = Verification code
ars-code-intro = Open your authenticator app and type the 6-digit code it shows for “caducee ARS”.
ars-code-label = 6-digit code
ars-code-hint = The code changes every 30 seconds. A code already used cannot be used again: wait for the next one.
ars-code-submit = Confirm
ars-code-empty = Type the 6-digit code of your authenticator app.
ars-code-wrong = This code is not valid or was already used. Type the code your app shows now.
ars-code-restart = Start the login again

# Enrolment
ars-enrol-title = Activate your access to the ARS back office
ars-enrol-intro = This activation link is valid for 24 hours and works once.
ars-enrol-needs = Have your phone with an authenticator app (for instance FreeOTP, Aegis or Google Authenticator): you will choose a password, then link the app to your account.
ars-enrol-start = Start the activation
ars-enrol-invalid-title = Invalid activation link
ars-enrol-invalid-text = This activation link was already used, has expired (24 hours) or does not exist. Ask the ARS back office's administrator for a new link.
ars-enrol-password-title = Choose your password
ars-enrol-password-intro = Your password protects the data of the professionals of your départements: make it long and hard to guess.
ars-enrol-password-label = Password
ars-enrol-password-confirm = Confirm the password
ars-enrol-continue = Continue
ars-enrol-totp-title = Link your authenticator app
ars-enrol-totp-intro = Scan this QR code with your authenticator app, or type the key below into it. Then type the 6-digit code it shows.
ars-enrol-totp-qr-alt = QR code to scan with your authenticator app
ars-enrol-totp-secret = Key to type into the app (if you cannot scan)
ars-enrol-totp-account = Account shown by the app
ars-enrol-finish = Finish the activation
ars-enrolled = Your access is activated. Each login asks for your password, then the code of your app.

# Queues
ars-home-title = Queues
ars-queue-anomalies = Anomaly reports
ars-queue-empty = Nothing waiting for your départements.
ars-item-received = Received { $age } — département { $department }
ars-anomaly-item = { $field } — { $name }
ars-anomaly-assignee = Taken by { $agent }
ars-anomaly-state-received = Received, to be taken
ars-anomaly-state-in-review = In review
ars-anomaly-state-corrected = Corrected
ars-anomaly-state-rejected = Rejected
ars-search-title = Find a professional
ars-search-label = RPPS or ADELI number
ars-search-hint = 11 digits for an RPPS number, for instance 19999900012.
ars-search-submit = Open the record

# Anomaly report
ars-anomaly-title = Anomaly report
ars-anomaly-details = The report
ars-field-professional = Professional
ars-field-department = Département
ars-field-state = State
ars-field-received = Received on
ars-anomaly-field = Data concerned
ars-anomaly-wrong = What is wrong
ars-anomaly-correct = What is right, according to the professional
ars-anomaly-portal = Portal it came from
ars-open-record = Open the professional's record
ars-anomaly-work = Processing
ars-anomaly-claim-intro = Take this report to process it: the other agents will see that you are on it.
ars-anomaly-claim = Take it
ars-anomaly-claimed = You took this report.
ars-anomaly-closed = This report is processed.
ars-anomaly-moved = Another agent took or processed this report in the meantime.
ars-anomaly-decide-corrected = The data was corrected
ars-anomaly-decide-rejected = The report is rejected (the registry's data is right)
ars-decision-legend = Your decision
ars-decision-reason = Reason
ars-decision-reason-hint = Required when rejecting: it is kept in the history.
ars-decision-submit = Save the decision
ars-decision-missing = Choose your decision.
ars-decision-reason-missing = Give the reason for the rejection.
ars-decision-reason-long = The reason must not exceed 2000 characters.
ars-decision-saved = Your decision is saved.
ars-history = History

# A professional's record
ars-record-identity = Identity
ars-record-rpps = RPPS number
ars-record-idnat = National identifier (idNat_PS)
ars-record-birth-name = Birth name
ars-record-birth-date = Birth date
ars-record-professions = Professions
ars-record-activities = Activities
ars-record-active = Current
ars-record-ended = Ended
ars-record-no-activity = No activity recorded.
ars-record-contact = Contact coordinates
ars-record-anomalies = Anomaly reports
ars-record-anomaly-meta = Filed on the portal { $portal } { $age } — { $state }
ars-record-evidence = Supporting documents seen by the ARS
ars-record-none = Nothing to show.

# Coordinates on the professional's behalf
ars-contact-open = Set the coordinates on the professional's behalf
ars-contact-title = Coordinates of { $name }
ars-contact-intro = The professional has no CPS card and cannot activate their e-CPS: the ARS may step in to give them access to the portal. Type the coordinates they sent you and attach the copy of their identity document you checked. The coordinates are saved at once.
ars-contact-email = Personal e-mail address
ars-contact-mobile = Mobile phone number
ars-contact-mobile-hint = For instance 06 12 34 56 78 or +33 6 12 34 56 78.
ars-contact-address = Correspondence address (home)
ars-contact-address-hint = Optional: where the CPS card is sent. Leave empty to keep the current address.
ars-contact-evidence = Copy of the identity document (identity card or passport)
ars-contact-evidence-hint = A PDF, JPEG or PNG file of 5 MB at most.
ars-contact-submit = Save the coordinates
ars-contact-saved = The coordinates are saved: the professional can activate their e-CPS.
ars-error-email-empty = Type the professional's e-mail address.
ars-error-email = Type a valid e-mail address, for instance firstname.lastname@example.fr.
ars-error-mobile = Type a mobile number like 06 12 34 56 78 or +33 6 12 34 56 78.
ars-error-address = The address must not contain control characters.
ars-error-evidence-missing = Attach the copy of the identity document you checked.
ars-error-evidence-type = The file must be a PDF, a JPEG or PNG image.
ars-error-evidence-large = The file must not exceed 5 MB.

# Change requests and first registrations
ars-queue-requests = Change requests
ars-queue-registrations = First registrations
ars-kind-new-activity = New activity
ars-kind-cease-activity = Ceased activity
ars-kind-new-profession = New profession
ars-kind-contact = Contact coordinates
ars-kind-exercise-name = Exercise name
ars-state-draft = Draft
ars-state-submitted = To be processed
ars-state-approved = Approved, waiting for the propagation delay
ars-state-rejected = Rejected
ars-state-applied = In the registry
ars-request-details = The request
ars-request-change = Change requested
ars-request-before-after = { $before } → { $after }
ars-request-decide-intro = Check the change requested, then approve or reject it. An approved request reaches the registry after the propagation delay; the professional receives the decision by e-mail.
ars-request-moved = Another agent processed this request in the meantime.
ars-decision-approve = Approve
ars-decision-reject = Reject
ars-decision-reason-hint-sent = Required when rejecting: it is sent to the professional.
ars-decision-saved-sent = Your decision is saved; the professional receives it by e-mail.
ars-decided-by = Decided by
ars-decided-at = Decided on
ars-record-requests = Change requests
ars-registration-title = First registration
ars-registration-identity = Identity (FranceConnect)
ars-registration-given-names = Given names
ars-registration-birthplace = Birthplace
ars-registration-activity = Activity declared
ars-registration-mode = Mode of practice
ars-registration-structure = Structure
ars-registration-address = Address of the activity
ars-registration-confirmed = confirmed by a code
ars-registration-unconfirmed = not confirmed
ars-registration-documents = Supporting documents
ars-registration-decide-intro = Check the identity and the supporting documents. Approved, the request gets an RPPS number, e-mailed to the professional; rejected, the reason is sent to them.
ars-registration-approved = Request approved: RPPS number { $rpps } assigned and sent to the professional.

# A professional's history
ars-event-anomaly-filed = Anomaly report filed
ars-event-anomaly-state = Anomaly report: state changed
ars-event-contact-updated = Contact coordinates saved in the registry
ars-event-identity-updated = Civil status saved in the registry
ars-event-request-state = Change request: state changed
ars-event-contact-on-behalf = Coordinates set by the ARS on the professional's behalf, with supporting document
