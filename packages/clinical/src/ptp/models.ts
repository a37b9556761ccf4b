/**
 * What each PTP model is, for reports and FHIR resources that must say which model gave a value.
 */
import type { PtpModel } from './levels.js';

export interface PtpModelInfo {
  /** Short display name. */
  name: string;
  /** The publication that defines the model. */
  reference: string;
  /** Its categories, lowest first, with their bounds. */
  categories: string;
}

export const PTP_MODEL_INFO: Readonly<Record<PtpModel, PtpModelInfo>> = {
  esc2019: {
    name: 'ESC 2019 pre-test probability',
    reference:
      'Knuuti J, et al. 2019 ESC Guidelines for the diagnosis and management of chronic coronary syndromes. Eur Heart J 2020;41:407-477 (Table 5)',
    categories: 'low <= 5 %, intermediate 6-15 %, high > 15 %',
  },
  esc2024: {
    name: 'ESC 2024 risk-factor-weighted clinical likelihood (RF-CL)',
    reference:
      'Vrints C, et al. 2024 ESC Guidelines for the management of chronic coronary syndromes. Eur Heart J 2024;45:3415-3537 (Figure 4); model: Winther S, et al. J Am Coll Cardiol 2020;76:2421-2432, doi:10.1016/j.jacc.2020.09.585',
    categories: 'very low <= 5 %, low > 5-15 %, moderate > 15 %',
  },
  'cacs-cl': {
    name: 'Coronary artery calcium score-weighted clinical likelihood (CACS-CL)',
    reference:
      'Winther S, et al. J Am Coll Cardiol 2020;76:2421-2432, doi:10.1016/j.jacc.2020.09.585; ESC 2024 chronic coronary syndromes guideline',
    categories: 'very low <= 5 %, low > 5-15 %, moderate > 15 %',
  },
};
