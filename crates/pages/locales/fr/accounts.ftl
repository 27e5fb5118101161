# Local accounts of the portals (crates/portals/src/local): wording of the seed
# ordre-medecins-mon-espace.txt, word for word where it gives one.

## Home and login
account-login-title = Connectez-vous à votre espace
account-email = E-mail
account-password = Mot de passe
account-login = Se connecter
account-create-space = Créer votre espace
account-forgot = Identifiants oubliés ?
account-login-missing = Saisissez votre adresse e-mail et votre mot de passe.
account-login-refused = Adresse e-mail ou mot de passe incorrect. Vérifiez votre saisie, ou demandez un nouveau mot de passe.
account-login-throttled = Trop d'essais infructueux pour ce compte. Réessayez dans { $minutes } minute(s), ou réinitialisez votre mot de passe :
account-logged-out = Vous êtes déconnecté(e) de votre espace.
account-home-title = Mon Espace
account-hello = Bonjour { $name }
account-hello-anonymous = Bonjour
account-logged-in-as = Vous êtes connecté(e) avec l'identifiant
account-services = Mes services
account-settings = Paramètres
account-logout = Se déconnecter
account-form-stale = Votre session a expiré ou ce formulaire ne vient pas de cette page. Vérifiez votre saisie et validez à nouveau.

## Forgotten credentials
account-forgot-title = Identifiants oubliés ?
account-forgot-intro = Vous ne connaissez plus l'adresse e-mail de votre compte, ou vous avez oublié votre mot de passe ? Choisissez ce que vous souhaitez récupérer. Pour toute autre difficulté, rapprochez-vous de votre conseil départemental.
account-forgot-email = Adresse mail de compte oubliée
account-forgot-password = Mot de passe oublié
account-back-to-login = Retour à la connexion

## Creation and recovery: identity
account-creation-title = Créer votre espace
account-recovery-title = Récupérer votre espace
account-required-fields = Les champs marqués d'un astérisque (*) sont obligatoires.
account-birth-date = Date de naissance *
account-birth-date-hint = Format : 17/06/1980
account-rpps = Numéro RPPS *
account-rpps-hint = 11 chiffres, commençant par 1 ou 2
account-rpps-where = Où trouver mon RPPS ?
account-terms-accept-1 = J'ai lu et j'accepte les{" "}
account-terms-accept-terms = Conditions générales d'utilisation
account-terms-accept-2 = {" "}et la{" "}
account-terms-accept-privacy = Politique de confidentialité
account-terms-accept-3 = .
account-validate = Valider
account-error-birth-date-empty = Saisissez votre date de naissance.
account-error-birth-date-format = Saisissez votre date de naissance au format JJ/MM/AAAA, par exemple 17/06/1980.
account-error-birth-date-real = Saisissez une date de naissance réelle et passée, au format JJ/MM/AAAA.
account-error-rpps-empty = Saisissez votre numéro RPPS.
account-error-rpps-format = Le numéro RPPS compte 11 chiffres : vérifiez votre saisie.
account-error-rpps-key = Ce numéro RPPS n'existe pas (sa clé de contrôle est fausse) : vérifiez chaque chiffre.
account-error-terms = Cochez la case pour accepter les Conditions générales d'utilisation et la Politique de confidentialité.
account-no-match = Les informations que vous avez saisies ne correspondent pas à celles connues de l'Ordre, veuillez les corriger ou vous rapprocher de votre conseil
account-exists = Un compte est déjà associé à ce numéro RPPS, en cas d'oubli de mot de passe, demandez une
account-exists-link = récupération de mot de passe.
account-none = Aucun espace n'est encore associé à ce numéro RPPS :
account-none-link = créez votre espace.
account-no-coordinates = Aucun numéro de téléphone portable ni aucune adresse e-mail ne sont connus pour vous : le code ne peut pas vous être envoyé. Rapprochez-vous de votre conseil pour les faire enregistrer.
account-identity-throttled = Trop de vérifications ont été demandées. Réessayez dans { $minutes } minute(s).
account-flow-expired = Votre saisie n'a pas été validée dans les 10 minutes : elle a été effacée. Veuillez recommencer.

## Steps
account-step-identity = Votre identité
account-step-secure = Recevoir un code
account-step-code = Saisir le code
account-creation-step-finalise = Vos paramètres de connexion
account-recovery-step-finalise = Vos nouveaux paramètres de connexion

## Securing: the coordinate
account-creation-secure-title = Sécuriser la création de votre espace
account-recovery-secure-title = Sécuriser la récupération de votre espace
account-creation-secure-intro = Afin de finaliser la création de votre compte, vous allez recevoir un code permettant de vous authentifier. Veuillez cocher le moyen de transmission de ce code.
account-recovery-secure-intro = Afin de finaliser la récupération de votre compte, vous allez recevoir un code permettant de vous authentifier. Veuillez cocher le moyen de transmission de ce code.
account-secure-legend = Moyen de transmission du code
account-send-code = Recevoir votre code
account-back = Retour
account-assistance = Assistance
account-error-choose = Cochez le numéro de téléphone ou l'adresse e-mail où recevoir le code.
account-code-flow-exhausted = Vous avez demandé le nombre maximal de codes pour cette démarche. Recommencez-la depuis le début.
account-code-person-exhausted = Trop de codes vous ont été envoyés récemment. Réessayez dans { $minutes } minute(s).

## Securing: the code
account-code-title = Veuillez saisir le code reçu
account-code-sent = Un code à 6 chiffres a été envoyé à { $to }. Il est valable 10 minutes.
account-code-label = Saisir le code
account-code-hint = 6 chiffres
account-resend = Renvoyer le code
account-code-resent = Un nouveau code vous a été envoyé. Le précédent ne fonctionne plus.
account-error-code-format = Saisissez les 6 chiffres du code reçu.
account-error-code-wrong = Ce code est incorrect. Il vous reste { $tries } essai(s).
account-error-code-expired = Ce code a expiré. Cliquez sur « Renvoyer le code » pour en recevoir un nouveau.
account-code-dead-title = Code bloqué
account-code-dead = Le code a été saisi trop de fois de manière incorrecte. Par sécurité, votre saisie a été effacée : veuillez recommencer.
account-code-dead-settings = Le code a été saisi trop de fois de manière incorrecte. Votre adresse de courriel n'a pas été modifiée.
account-start-again = Recommencer

## Finalisation
account-creation-finalise-title = Finaliser la création de votre espace
account-creation-finalise-intro = Afin de finaliser la création de votre compte et l'activer, veuillez saisir vos paramètres de connexion
account-recovery-finalise-title = Finaliser la récupération de votre espace
account-recovery-finalise-intro = Afin de finaliser la récupération de votre compte, veuillez saisir vos paramètres de connexion
account-creation-email-title = Créer mon compte
account-creation-email-intro = Votre identifiant est l'adresse e-mail de correspondance connue de l'Ordre. Choisissez simplement votre mot de passe.
account-login-email = Identifiant
account-email-confirm = Confirmation Email
account-password-confirm = Confirmation du mot de passe
account-activate = Activer
account-create = Créer
account-error-email-empty = Saisissez une adresse e-mail.
account-error-email-format = Saisissez une adresse e-mail valide, par exemple prenom.nom@exemple.fr.
account-error-email-confirm = Les deux adresses e-mail ne sont pas identiques.
account-error-email-taken = Un compte est déjà associé à cette adresse mail
account-error-password-empty = Choisissez un mot de passe.
account-error-password-long = Le mot de passe ne doit pas dépasser 256 caractères.
account-error-password-short = Le mot de passe doit compter au moins { $n } caractères.
account-error-password-rules = Le mot de passe doit contenir une lettre majuscule, une lettre minuscule, et un chiffre ou un caractère spécial.
account-error-password-common = Ce mot de passe fait partie des plus utilisés : choisissez-en un autre.
account-error-password-personal = Ce mot de passe reprend votre nom, votre numéro RPPS, votre date de naissance ou votre adresse e-mail : choisissez-en un autre.
account-error-password-weak = Ce mot de passe est trop facile à deviner : allongez-le, par exemple avec plusieurs mots sans rapport entre eux.
account-error-password-confirm = Les deux mots de passe ne sont pas identiques.
account-creation-done-title = Espace créé
account-creation-done = Votre espace personnel a été créé et activé. Un email de confirmation vous a été envoyé
account-recovery-done-title = Espace récupéré
account-recovery-done = Votre espace a été récupéré : connectez-vous avec votre nouvelle adresse e-mail et votre nouveau mot de passe. Un message a été envoyé à l'ancienne adresse.

## Password reset (single-use link)
account-reset-title = Réinitialiser votre mot de passe
account-reset-intro = Pour réinitialiser votre mot de passe, veuillez saisir votre adresse email de connexion.
account-reset-no-email = Je ne connais plus mon adresse email
account-reset-sent = Si cette adresse est celle d'un compte, un e-mail contenant un lien de connexion unique vient de lui être envoyé. Ce lien est valable 24 heures et ne fonctionne qu'une fois.
account-link-title = Connexion par lien unique
account-link-intro = Ce lien de connexion unique vous permet d'accéder à votre espace et de choisir un nouveau mot de passe. Il ne fonctionnera qu'une fois.
account-link-use = Me connecter et choisir un nouveau mot de passe
account-link-dead = Ce lien n'est plus valable : il a déjà été utilisé, ou il a expiré (il est valable 24 heures).
account-link-new = Demander un nouveau lien
account-link-used = Vous venez d'utiliser votre lien de connexion unique. Il n'est désormais plus nécessaire d'utiliser ce lien pour vous connecter.

## Settings
account-settings-section = INFORMATIONS CONNEXION
account-current-password = Mot de passe actuel
account-current-password-hint = Saisissez votre mot de passe actuel pour changer votre Adresse de courriel ou votre Mot de passe.
account-ask-new-password = Demander un nouveau mot de passe.
account-new-password = Nouveau mot de passe
account-new-password-confirm = Confirmer votre nouveau mot de passe
account-settings-email = Adresse de courriel *
account-settings-email-hint = Ne sera pas rendue publique.
account-save = Enregistrer
account-settings-nothing = Aucune modification à enregistrer.
account-error-current-empty = Saisissez votre mot de passe actuel.
account-error-current-wrong = Le mot de passe actuel est incorrect.
account-error-current-throttled = Trop d'essais incorrects. Réessayez dans { $minutes } minute(s), ou demandez un nouveau mot de passe.
account-password-changed = Votre mot de passe a été modifié. Vos autres sessions ont été fermées.
account-email-changed = Votre adresse de courriel a été modifiée. Un message a été envoyé à l'ancienne adresse.

## Terms (demo texts: an operator links its own documents)
account-terms-title = Conditions générales d'utilisation
account-terms-p1 = Cet espace est réservé aux professionnels de santé inscrits au répertoire partagé des professionnels de santé (RPPS).
account-terms-p2 = Vos identifiants sont personnels : ne les communiquez à personne. Toute connexion est enregistrée.
account-terms-p3 = Ceci est un texte de démonstration : l'opérateur du portail publie ses propres conditions.
account-privacy-title = Politique de confidentialité
account-privacy-p1 = Les données saisies servent uniquement à vérifier votre identité auprès du répertoire et à gérer votre compte.
account-privacy-p2 = Une saisie non validée est effacée au bout de 10 minutes. Les codes et liens envoyés ne sont conservés que sous forme chiffrée.
account-privacy-p3 = Ceci est un texte de démonstration : l'opérateur du portail publie sa propre politique.

## Password meter (crates/passwords)
password-rule-length = { $n } caractères ou plus
password-rule-upper = 1 lettre majuscule
password-rule-lower = 1 lettre minuscule
password-rule-digit-or-special = 1 chiffre ou 1 caractère spécial (!"#$%&'()*+,-./:;…)
password-warning-common = Ce mot de passe fait partie des plus utilisés.
password-warning-personal = Ce mot de passe reprend vos informations personnelles.
password-warning-keyboard = Les suites de touches du clavier se devinent facilement.
password-warning-repeats = Les répétitions (aaa, abcabc) se devinent facilement.
password-warning-sequence = Les suites (abc, 123) se devinent facilement.
password-warning-dates = Les dates et les années se devinent facilement.
password-warning-word = Un mot seul, un prénom ou un nom se devinent facilement.

## Onboarding after a login (local/onboarding.rs; seed ror-national-connexion-liberaux.txt)
account-login-refused-psc-first = Adresse e-mail ou mot de passe incorrect. Lors de votre première connexion, vous devez obligatoirement vous identifier via Pro Santé Connect ; ensuite, « Mot de passe oublié ? » vous permet de créer un mot de passe.
onboarding-contact-title = Votre adresse e-mail de contact
onboarding-contact-intro = Pour terminer la création de votre compte, vous devez renseigner une adresse email sur laquelle vous seront envoyées des informations relatives au portail.
onboarding-contact-forbidden-domains = A noter qu'il n'est pas possible de renseigner une adresse MSSanté ({ $domains }).
onboarding-contact-email = Adresse e-mail de contact *
onboarding-contact-send = Recevoir un code de vérification
onboarding-contact-forbidden = Il n'est pas possible de renseigner une adresse MSSanté : indiquez une autre adresse e-mail.
onboarding-contact-change = Modifier l'adresse
onboarding-contact-code-dead = Le code a été saisi trop de fois de manière incorrecte : saisissez à nouveau votre adresse pour recevoir un nouveau code.
onboarding-terms-title = Conditions Générales d'Utilisation
onboarding-terms-intro = L'acceptation des Conditions Générales d'Utilisation (CGU) est obligatoire pour pouvoir accéder à votre espace. Vous devez lire les CGU jusqu'en bas pour que le bouton « Accepter » devienne cliquable.
onboarding-terms-accept = J'ai lu et j'accepte les Conditions Générales d'Utilisation (version { $version }).
onboarding-terms-accept-button = Accepter
onboarding-terms-not-accepted = Cochez la case après avoir lu les conditions jusqu'en bas, puis cliquez sur « Accepter ». Si les conditions viennent de changer, lisez leur nouvelle version.

## ONB-05: the registry's data to validate, and the anomaly report (local/onboarding_registry.rs;
## seed ror-national-connexion-liberaux.txt, "3. Validation de vos informations personnelles")

onboarding-registry-title = Validation de vos informations personnelles
onboarding-registry-intro = La dernière étape consiste à valider vos données personnelles qui sont issues du répertoire RPPS. Si les informations inscrites sont correctes, cliquez sur le bouton « Valider mes informations ». Si une information est erronée, vous pouvez cliquer sur le bouton « Déclarer une anomalie ».
onboarding-registry-intro-pending = Vos déclarations d'anomalie sont transmises à l'agence en charge du répertoire, qui les traitera. Vous pouvez valider vos informations pour accéder à votre espace : cette étape vous sera proposée de nouveau si vos données sont corrigées.
onboarding-registry-identity = Identité
onboarding-registry-civility = Civilité d'exercice
onboarding-registry-last-name = Nom d'exercice
onboarding-registry-first-name = Prénom d'exercice
onboarding-registry-rpps = Numéro RPPS
onboarding-registry-professions = Profession
onboarding-registry-profession = Profession
onboarding-registry-activities = Activités et structures
onboarding-registry-no-activity = Le répertoire ne mentionne aucune activité en cours.
onboarding-registry-mode = Mode d'exercice
onboarding-registry-role = Fonction
onboarding-registry-address = Adresse
onboarding-registry-siret = SIRET
onboarding-registry-finess = FINESS
onboarding-registry-no-structure = Activité sans structure
onboarding-registry-validate = Valider mes informations
onboarding-registry-declare = Déclarer une anomalie
onboarding-registry-reports = Vos déclarations d'anomalie
onboarding-registry-report-wrong = Information erronée
onboarding-registry-report-correct = Information correcte
onboarding-registry-report-date = Envoyée le
onboarding-registry-report-state = État
onboarding-registry-state-received = Envoyée
onboarding-registry-state-in-review = En cours de traitement
onboarding-registry-state-corrected = Corrigée
onboarding-registry-state-rejected = Non retenue
onboarding-registry-anomaly-title = Déclarer une anomalie
onboarding-registry-anomaly-intro = Décrivez la donnée en erreur : elle sera transmise à l'agence en charge du répertoire RPPS. Les champs suivis d'un astérisque (*) sont obligatoires.
onboarding-registry-anomaly-subject = Donnée concernée *
onboarding-registry-anomaly-choose = Choisissez la donnée concernée
onboarding-registry-anomaly-activity = Activité : { $name }
onboarding-registry-anomaly-other = Autre information
onboarding-registry-anomaly-wrong = Ce qui est erroné *
onboarding-registry-anomaly-wrong-hint = Par exemple : le numéro de rue de mon cabinet est faux.
onboarding-registry-anomaly-correct = La bonne information *
onboarding-registry-anomaly-correct-hint = Par exemple : 12 rue de la Paix, 75002 Paris.
onboarding-registry-anomaly-send = Envoyer la déclaration
onboarding-registry-anomaly-cancel = Retour à mes informations
onboarding-registry-anomaly-subject-empty = Choisissez la donnée concernée par l'anomalie.
onboarding-registry-anomaly-wrong-empty = Décrivez ce qui est erroné.
onboarding-registry-anomaly-correct-empty = Indiquez la bonne information.
onboarding-registry-anomaly-too-long = Raccourcissez votre texte : { $max } caractères au plus.
onboarding-registry-anomaly-control = Retirez les caractères spéciaux invisibles de votre texte.
onboarding-registry-anomaly-refused = La déclaration n'a pas pu être enregistrée : vérifiez les champs puis envoyez-la de nouveau.
onboarding-registry-anomaly-too-many = Vous avez déjà de nombreuses déclarations d'anomalie en attente de traitement : attendez que l'agence en ait traité avant d'en envoyer une nouvelle.
onboarding-registry-anomaly-sent = Votre déclaration d'anomalie a été envoyée. Elle figure ci-dessous avec son état.
