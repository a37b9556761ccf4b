/** The waveform SOP classes the feeds take (PS3.4 Annex B): carts and cath labs put ECG leads in all of them. */
export const ECG_WAVEFORM_SOP_CLASSES: Readonly<Record<string, string>> = {
  '1.2.840.10008.5.1.4.1.1.9.1.1': '12-Lead ECG Waveform Storage',
  '1.2.840.10008.5.1.4.1.1.9.1.2': 'General ECG Waveform Storage',
  '1.2.840.10008.5.1.4.1.1.9.1.3': 'Ambulatory ECG Waveform Storage',
  '1.2.840.10008.5.1.4.1.1.9.1.4': 'General 32-bit ECG Waveform Storage',
  '1.2.840.10008.5.1.4.1.1.9.2.1': 'Hemodynamic Waveform Storage',
};

/** True for one of {@link ECG_WAVEFORM_SOP_CLASSES} (own keys only: `toString` is not a SOP class). */
export function isEcgWaveformSopClass(uid: string | undefined): boolean {
  return uid !== undefined && Object.hasOwn(ECG_WAVEFORM_SOP_CLASSES, uid);
}
