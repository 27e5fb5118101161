# Local accounts of the portals (crates/portals/src/local). French is the source.

## Home and login
account-login-title = Log in to your space
account-email = E-mail
account-password = Password
account-login = Log in
account-create-space = Create your space
account-forgot = Forgotten credentials?
account-login-missing = Enter your e-mail address and your password.
account-login-refused = Wrong e-mail address or password. Check what you typed, or ask for a new password.
account-login-throttled = Too many failed attempts for this account. Try again in { $minutes } minute(s), or reset your password:
account-logged-out = You are logged out of your space.
account-home-title = My Space
account-hello = Hello { $name }
account-hello-anonymous = Hello
account-logged-in-as = You are logged in as
account-services = My services
account-settings = Settings
account-logout = Log out
account-form-stale = Your session expired or this form does not come from this page. Check what you typed and submit again.

## Forgotten credentials
account-forgot-title = Forgotten credentials?
account-forgot-intro = You no longer know your account's e-mail address, or you forgot your password? Choose what you want to recover. For any other difficulty, contact your departmental council.
account-forgot-email = Forgotten account e-mail address
account-forgot-password = Forgotten password
account-back-to-login = Back to login

## Creation and recovery: identity
account-creation-title = Create your space
account-recovery-title = Recover your space
account-required-fields = Fields marked with an asterisk (*) are required.
account-birth-date = Date of birth *
account-birth-date-hint = Format: 17/06/1980 (day/month/year)
account-rpps = RPPS number *
account-rpps-hint = 11 digits, starting with 1 or 2
account-rpps-where = Where do I find my RPPS number?
account-terms-accept-1 = I have read and accept the{" "}
account-terms-accept-terms = Terms of use
account-terms-accept-2 = {" "}and the{" "}
account-terms-accept-privacy = Privacy policy
account-terms-accept-3 = .
account-validate = Confirm
account-error-birth-date-empty = Enter your date of birth.
account-error-birth-date-format = Enter your date of birth as DD/MM/YYYY, for example 17/06/1980.
account-error-birth-date-real = Enter a real date of birth in the past, as DD/MM/YYYY.
account-error-rpps-empty = Enter your RPPS number.
account-error-rpps-format = An RPPS number has 11 digits: check what you typed.
account-error-rpps-key = This RPPS number does not exist (its check digit is wrong): check each digit.
account-error-terms = Tick the box to accept the Terms of use and the Privacy policy.
account-no-match = The information you entered does not match what the Order knows; please correct it or contact your council
account-exists = An account is already linked to this RPPS number; if you forgot your password, ask for a
account-exists-link = password recovery.
account-none = No space is linked to this RPPS number yet:
account-none-link = create your space.
account-no-coordinates = No mobile number and no e-mail address are known for you: the code cannot be sent. Contact your council to have them recorded.
account-identity-throttled = Too many checks were requested. Try again in { $minutes } minute(s).
account-flow-expired = What you typed was not confirmed within 10 minutes: it has been erased. Please start again.

## Steps
account-step-identity = Your identity
account-step-secure = Receive a code
account-step-code = Enter the code
account-creation-step-finalise = Your login details
account-recovery-step-finalise = Your new login details

## Securing: the coordinate
account-creation-secure-title = Secure the creation of your space
account-recovery-secure-title = Secure the recovery of your space
account-creation-secure-intro = To finish creating your account, you will receive a code that authenticates you. Please tick where this code should be sent.
account-recovery-secure-intro = To finish recovering your account, you will receive a code that authenticates you. Please tick where this code should be sent.
account-secure-legend = Where to send the code
account-send-code = Receive your code
account-back = Back
account-assistance = Help
account-error-choose = Tick the phone number or the e-mail address where the code should be sent.
account-code-flow-exhausted = You have asked for the maximum number of codes for this procedure. Start it again from the beginning.
account-code-person-exhausted = Too many codes were sent to you recently. Try again in { $minutes } minute(s).

## Securing: the code
account-code-title = Please enter the code you received
account-code-sent = A 6-digit code was sent to { $to }. It is valid for 10 minutes.
account-code-label = Enter the code
account-code-hint = 6 digits
account-resend = Send the code again
account-code-resent = A new code was sent to you. The previous one no longer works.
account-error-code-format = Enter the 6 digits of the code you received.
account-error-code-wrong = This code is wrong. You have { $tries } attempt(s) left.
account-error-code-expired = This code has expired. Click "Send the code again" to receive a new one.
account-code-dead-title = Code blocked
account-code-dead = The code was entered wrongly too many times. For your security, what you typed has been erased: please start again.
account-code-dead-settings = The code was entered wrongly too many times. Your e-mail address was not changed.
account-start-again = Start again

## Finalisation
account-creation-finalise-title = Finish creating your space
account-creation-finalise-intro = To finish creating your account and activate it, please enter your login details
account-recovery-finalise-title = Finish recovering your space
account-recovery-finalise-intro = To finish recovering your account, please enter your login details
account-creation-email-title = Create my account
account-creation-email-intro = Your login is the correspondence e-mail address the Order knows. Just choose your password.
account-login-email = Login
account-email-confirm = Confirm e-mail
account-password-confirm = Confirm password
account-activate = Activate
account-create = Create
account-error-email-empty = Enter an e-mail address.
account-error-email-format = Enter a valid e-mail address, for example firstname.lastname@example.com.
account-error-email-confirm = The two e-mail addresses are not the same.
account-error-email-taken = An account is already linked to this e-mail address
account-error-password-empty = Choose a password.
account-error-password-long = The password must not be longer than 256 characters.
account-error-password-short = The password must have at least { $n } characters.
account-error-password-rules = The password must contain an upper-case letter, a lower-case letter, and a digit or a special character.
account-error-password-common = This password is one of the most used: choose another one.
account-error-password-personal = This password contains your name, RPPS number, date of birth or e-mail address: choose another one.
account-error-password-weak = This password is too easy to guess: make it longer, for example with several unrelated words.
account-error-password-confirm = The two passwords are not the same.
account-creation-done-title = Space created
account-creation-done = Your personal space has been created and activated. A confirmation e-mail has been sent to you
account-recovery-done-title = Space recovered
account-recovery-done = Your space is recovered: log in with your new e-mail address and your new password. A message was sent to the previous address.

## Password reset (single-use link)
account-reset-title = Reset your password
account-reset-intro = To reset your password, please enter your login e-mail address.
account-reset-no-email = I no longer know my e-mail address
account-reset-sent = If this address belongs to an account, an e-mail with a single-use login link has just been sent to it. The link is valid for 24 hours and works once.
account-link-title = Single-use login link
account-link-intro = This single-use login link lets you into your space to choose a new password. It works only once.
account-link-use = Log me in and choose a new password
account-link-dead = This link is no longer valid: it was already used, or it expired (it is valid for 24 hours).
account-link-new = Ask for a new link
account-link-used = You have just used your single-use login link. You no longer need this link to log in.

## Settings
account-settings-section = LOGIN DETAILS
account-current-password = Current password
account-current-password-hint = Enter your current password to change your E-mail address or your Password.
account-ask-new-password = Ask for a new password.
account-new-password = New password
account-new-password-confirm = Confirm your new password
account-settings-email = E-mail address *
account-settings-email-hint = Will not be made public.
account-save = Save
account-settings-nothing = Nothing to save.
account-error-current-empty = Enter your current password.
account-error-current-wrong = The current password is wrong.
account-error-current-throttled = Too many wrong attempts. Try again in { $minutes } minute(s), or ask for a new password.
account-password-changed = Your password was changed. Your other sessions were closed.
account-email-changed = Your e-mail address was changed. A message was sent to the previous address.

## Terms (demo texts: an operator links its own documents)
account-terms-title = Terms of use
account-terms-p1 = This space is for health professionals registered in the shared directory of health professionals (RPPS).
account-terms-p2 = Your credentials are personal: never share them. Every login is recorded.
account-terms-p3 = This is a demo text: the portal's operator publishes its own terms.
account-privacy-title = Privacy policy
account-privacy-p1 = What you enter is used only to check your identity against the directory and to manage your account.
account-privacy-p2 = Unconfirmed input is erased after 10 minutes. Codes and links sent are only kept hashed.
account-privacy-p3 = This is a demo text: the portal's operator publishes its own policy.

## Password meter (crates/passwords)
password-rule-length = { $n } characters or more
password-rule-upper = An upper-case letter
password-rule-lower = A lower-case letter
password-rule-digit-or-special = A digit or a special character
password-warning-common = This password is one of the most used.
password-warning-personal = This password contains your personal information.
password-warning-keyboard = Rows of keyboard keys are easy to guess.
password-warning-repeats = Repeats (aaa, abcabc) are easy to guess.
password-warning-sequence = Sequences (abc, 123) are easy to guess.
password-warning-dates = Dates and years are easy to guess.
password-warning-word = A single word, first name or surname is easy to guess.

## Onboarding after a login (local/onboarding.rs)
account-login-refused-psc-first = Wrong e-mail address or password. Your first login must be through Pro Santé Connect; afterwards, "Forgotten password?" lets you create a password.
onboarding-contact-title = Your contact e-mail address
onboarding-contact-intro = To finish creating your account, enter an e-mail address where information about the portal will be sent to you.
onboarding-contact-forbidden-domains = Note that an MSSanté address cannot be used ({ $domains }).
onboarding-contact-email = Contact e-mail address *
onboarding-contact-send = Receive a verification code
onboarding-contact-forbidden = An MSSanté address cannot be used: enter another e-mail address.
onboarding-contact-change = Change the address
onboarding-contact-code-dead = The code was entered wrongly too many times: enter your address again to receive a new code.
onboarding-terms-title = Terms of use
onboarding-terms-intro = Accepting the terms of use is required to enter your space. Read them to the end for the "Accept" button to become clickable.
onboarding-terms-accept = I have read and accept the terms of use (version { $version }).
onboarding-terms-accept-button = Accept
onboarding-terms-not-accepted = Tick the box after reading the terms to the end, then click "Accept". If the terms have just changed, read their new version.

## ONB-05: the registry's data to validate, and the anomaly report (local/onboarding_registry.rs)

onboarding-registry-title = Validation of your personal information
onboarding-registry-intro = The last step is to validate your personal data, which comes from the RPPS registry. If the information shown is correct, click "Validate my information". If some information is wrong, click "Report an anomaly".
onboarding-registry-intro-pending = Your anomaly reports are sent to the agency in charge of the registry, which will process them. You may validate your information to enter your space: this step will be offered again if your data is corrected.
onboarding-registry-identity = Identity
onboarding-registry-civility = Practice title
onboarding-registry-last-name = Practice surname
onboarding-registry-first-name = Practice first name
onboarding-registry-rpps = RPPS number
onboarding-registry-professions = Profession
onboarding-registry-profession = Profession
onboarding-registry-activities = Activities and structures
onboarding-registry-no-activity = The registry lists no current activity.
onboarding-registry-mode = Practice mode
onboarding-registry-role = Role
onboarding-registry-address = Address
onboarding-registry-siret = SIRET
onboarding-registry-finess = FINESS
onboarding-registry-no-structure = Activity without a structure
onboarding-registry-validate = Validate my information
onboarding-registry-declare = Report an anomaly
onboarding-registry-reports = Your anomaly reports
onboarding-registry-report-wrong = Wrong information
onboarding-registry-report-correct = Correct information
onboarding-registry-report-date = Sent on
onboarding-registry-report-state = Status
onboarding-registry-state-received = Sent
onboarding-registry-state-in-review = Being processed
onboarding-registry-state-corrected = Corrected
onboarding-registry-state-rejected = Not upheld
onboarding-registry-anomaly-title = Report an anomaly
onboarding-registry-anomaly-intro = Describe the wrong data: it will be sent to the agency in charge of the RPPS registry. Fields followed by an asterisk (*) are required.
onboarding-registry-anomaly-subject = Data concerned *
onboarding-registry-anomaly-choose = Choose the data concerned
onboarding-registry-anomaly-activity = Activity: { $name }
onboarding-registry-anomaly-other = Other information
onboarding-registry-anomaly-wrong = What is wrong *
onboarding-registry-anomaly-wrong-hint = For example: the street number of my practice is wrong.
onboarding-registry-anomaly-correct = The correct information *
onboarding-registry-anomaly-correct-hint = For example: 12 rue de la Paix, 75002 Paris.
onboarding-registry-anomaly-send = Send the report
onboarding-registry-anomaly-cancel = Back to my information
onboarding-registry-anomaly-subject-empty = Choose the data the anomaly is about.
onboarding-registry-anomaly-wrong-empty = Describe what is wrong.
onboarding-registry-anomaly-correct-empty = Give the correct information.
onboarding-registry-anomaly-too-long = Shorten your text: { $max } characters at most.
onboarding-registry-anomaly-control = Remove the invisible special characters from your text.
onboarding-registry-anomaly-refused = The report could not be saved: check the fields, then send it again.
onboarding-registry-anomaly-too-many = You already have many anomaly reports waiting to be processed: wait until the agency has processed some before sending a new one.
onboarding-registry-anomaly-sent = Your anomaly report was sent. It is listed below with its status.
